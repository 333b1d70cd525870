"""LSTM over a whole sequence, forward and backward through time (Keras gate layout i, f, c, o).

The input projection of all steps is one GEMM; each step then runs one recurrent GEMM and one fused
pointwise pass in C++ (csrc/cpu/lstm.cpp). Activations are tanh and sigmoid (Keras defaults).
"""
from __future__ import annotations

import numpy as np

from forgenet.kernels._array import as_f32, backend, out_kw

RESERVE_GATES = 5  # reserve is (N, T, 5*U): [i, f, c~, o] after activation, then c_t, per step


def _weights(op, x, h0, c0, kernel, recurrent_kernel, bias):
    x = as_f32(op, "x", x, ndim=3)
    if kernel is None and type(x) is not np.ndarray:
        raise NotImplementedError(f"{op}: kernel=None (x already projected by the kernel) is CPU (numpy) only, "
                                  f"got x of type {type(x).__name__}")
    return (x, as_f32(op, "h0", h0, ndim=2), as_f32(op, "c0", c0, ndim=2),
            None if kernel is None else as_f32(op, "kernel", kernel, ndim=2),
            as_f32(op, "recurrent_kernel", recurrent_kernel, ndim=2), as_f32(op, "bias", bias, ndim=1))


def lstm(x, h0, c0, kernel, recurrent_kernel, bias, *, training=False, out=None):
    """Run an LSTM over x (N, T, D) from states h0, c0 (N, U).

    kernel (D, 4U), recurrent_kernel (U, 4U), bias (4U,), gates in the order i, f, c, o:
        z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias
        c_t = sigmoid(z_f) * c_{t-1} + sigmoid(z_i) * tanh(z_c);  h_t = sigmoid(z_o) * tanh(c_t)
    Returns (y (N, T, U) holding every h_t, h_T, c_T); with training=True also `reserve`, an opaque
    float32 array of shape (N, T, 5U) to hand to lstm_backward unchanged. out: buffers for those 3 (or
    4) outputs, each None or an array.

    Arrays: all float32, C order (batch-major x: (N, T, D), not time-major); numpy (CPU) or CuPy (GPU) on one
    device, results new arrays of that kind. Returns y (N, T, U), h_T (N, U), c_T (N, U) [, reserve (N, T,
    5U)], float32.

    kernel=None (CPU only): x is already x @ kernel, of shape (N, T, 4U), e.g. the rows of
    embedding_table @ kernel gathered by id (a small vocabulary's projection instead of every step's).
    """
    args = _weights("lstm", x, h0, c0, kernel, recurrent_kernel, bias)
    return tuple(backend("lstm", *args).lstm(*args, bool(training), **out_kw(out)))


def lstm_backward(dy, dh_T, dc_T, x, h0, c0, kernel, recurrent_kernel, bias, reserve, *, out=None):
    """Gradients of an lstm(...) call given the gradients of its outputs.

    dy (N, T, U) is the gradient of y (None when only the final state is used); dh_T, dc_T (N, U)
    those of h_T, c_T (None: zeros). reserve is the 4th output of lstm(..., training=True).
    Returns (dx, dh0, dc0, dkernel, drecurrent_kernel, dbias), into the out= buffers when given (a tuple
    of 6, each None or an array).

    Arrays: float32, C order, shaped as in lstm; numpy (CPU) or CuPy (GPU) on one device, results new arrays of
    that kind. The gradients are float32 and shaped as x (N, T, D), h0, c0 (N, U), kernel (D, 4U),
    recurrent_kernel (U, 4U), bias (4U,). With kernel=None (x = x @ kernel, (N, T, 4U)) dx is the
    gradient of x @ kernel (the pre-activation gradients of every step) and dkernel is None.
    """
    op = "lstm_backward"
    args = _weights(op, x, h0, c0, kernel, recurrent_kernel, bias)
    dy = None if dy is None else as_f32(op, "dy", dy, ndim=3)
    dh_T = None if dh_T is None else as_f32(op, "dh_T", dh_T, ndim=2)
    dc_T = None if dc_T is None else as_f32(op, "dc_T", dc_T, ndim=2)
    reserve = as_f32(op, "reserve", reserve, ndim=3)
    return tuple(backend(op, dy, dh_T, dc_T, *args, reserve).lstm_backward(dy, dh_T, dc_T, *args, reserve, **out_kw(out)))

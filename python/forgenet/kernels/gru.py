"""GRU over a whole sequence, forward and backward through time (Keras 3 gate layout z, r, h).

The input projection of all steps is one GEMM; each step then runs its recurrent GEMM and one fused
pointwise pass in C++ (csrc/cpu/gru.cpp; reset_after=False takes two of each, since r gates h before
the h-gate product). Activations are sigmoid and tanh (Keras defaults).
"""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend

RESERVE_GATES = 5  # reserve is (N, T, 5*U): [z, r, hh, q, h_t] per step


def _weights(op, x, h0, kernel, recurrent_kernel, bias, reset_after):
    return (as_f32(op, "x", x, ndim=3), as_f32(op, "h0", h0, ndim=2), as_f32(op, "kernel", kernel, ndim=2),
            as_f32(op, "recurrent_kernel", recurrent_kernel, ndim=2),
            as_f32(op, "bias", bias, ndim=2 if reset_after else 1))


def gru(x, h0, kernel, recurrent_kernel, bias, *, reset_after=True, training=False):
    """Run a GRU over x (N, T, D) from state h0 (N, U).

    kernel (D, 3U), recurrent_kernel (U, 3U), gates in the order z, r, h. With reset_after (Keras 3's
    default) bias is (2, 3U), [input bias; recurrent bias]:
        [xz xr xh] = x_t @ kernel + bias[0];  [rz rr rh] = h_{t-1} @ recurrent_kernel + bias[1]
        z = sigmoid(xz + rz);  r = sigmoid(xr + rr);  hh = tanh(xh + r * rh)
    without it bias is (3U,) and hh = tanh(xh + (r * h_{t-1}) @ recurrent_kernel[:, 2U:]); in both
    h_t = z * h_{t-1} + (1 - z) * hh. Returns (y (N, T, U) holding every h_t, h_T); with training=True
    also `reserve`, an opaque float32 array of shape (N, T, 5U) to hand to gru_backward unchanged.

    Arrays: x (N, T, D), h0 (N, U), kernel (D, 3U), recurrent_kernel (U, 3U), bias (2, 3U) with reset_after
    else (3U,); all float32, C order, numpy (CPU) or CuPy (GPU) on one device. Returns y (N, T, U) and h_T (N,
    U) float32 (plus reserve when training).
    """
    reset_after = bool(reset_after)
    args = _weights("gru", x, h0, kernel, recurrent_kernel, bias, reset_after)
    return tuple(backend("gru", *args).gru(*args, reset_after, bool(training)))


def gru_backward(dy, dh_T, x, h0, kernel, recurrent_kernel, bias, reserve, *, reset_after=True):
    """Gradients of a gru(...) call given those of its outputs: dy (N, T, U) of y (None when only the
    final state is used), dh_T (N, U) of h_T (None: zeros); reserve is gru(..., training=True)'s 3rd
    output. Returns (dx, dh0, dkernel, drecurrent_kernel, dbias), dbias shaped like bias.

    Arrays: float32, C order, shapes as in gru (reserve as gru returned it); numpy (CPU) or CuPy (GPU) on one
    device. Returns dx (N, T, D), dh0 (N, U), dkernel, drecurrent_kernel and dbias in their weights' shapes.
    """
    op = "gru_backward"
    reset_after = bool(reset_after)
    args = _weights(op, x, h0, kernel, recurrent_kernel, bias, reset_after)
    dy = None if dy is None else as_f32(op, "dy", dy, ndim=3)
    dh_T = None if dh_T is None else as_f32(op, "dh_T", dh_T, ndim=2)
    reserve = as_f32(op, "reserve", reserve, ndim=3)
    return tuple(backend(op, dy, dh_T, *args, reserve).gru_backward(dy, dh_T, *args, reserve, reset_after))

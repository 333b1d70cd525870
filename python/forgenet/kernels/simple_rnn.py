"""SimpleRNN over a whole sequence, forward and backward through time (Keras 3 layout).

h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias): one input GEMM, then per step one
recurrent GEMM and one fused pointwise pass in C++ (csrc/cpu/simple_rnn.cpp).
"""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")  # the activations the kernel has built in


def _weights(op, x, h0, kernel, recurrent_kernel, bias):
    return (as_f32(op, "x", x, ndim=3), as_f32(op, "h0", h0, ndim=2), as_f32(op, "kernel", kernel, ndim=2),
            as_f32(op, "recurrent_kernel", recurrent_kernel, ndim=2), as_f32(op, "bias", bias, ndim=1))


def _activation(op, activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def simple_rnn(x, h0, kernel, recurrent_kernel, bias, *, activation="tanh", training=False):
    """x (N, T, D), h0 (N, U), kernel (D, U), recurrent_kernel (U, U), bias (U,) -> (y (N, T, U), h_T);
    with training=True also `reserve` (N, T, U) for simple_rnn_backward.

    Arrays: x (N, T, D), h0 (N, U), kernel (D, U), recurrent_kernel (U, U), bias (U,); float32, C order, numpy
    (CPU) or CuPy (GPU) on one device. Returns y (N, T, U), h_T (N, U) float32 (plus reserve when training).
    """
    op = "simple_rnn"
    activation = _activation(op, activation)
    args = _weights(op, x, h0, kernel, recurrent_kernel, bias)
    return tuple(backend(op, *args).simple_rnn(*args, activation, bool(training)))


def simple_rnn_backward(dy, dh_T, x, h0, kernel, recurrent_kernel, bias, reserve, *, activation="tanh"):
    """Gradients of simple_rnn(...): dy (N, T, U) or None, dh_T (N, U) or None ->
    (dx, dh0, dkernel, drecurrent_kernel, dbias).

    Arrays: float32, C order, shapes as in simple_rnn; numpy (CPU) or CuPy (GPU) on one device. Returns dx (N,
    T, D), dh0 (N, U) and the weights' gradients in their shapes.
    """
    op = "simple_rnn_backward"
    activation = _activation(op, activation)
    args = _weights(op, x, h0, kernel, recurrent_kernel, bias)
    dy = None if dy is None else as_f32(op, "dy", dy, ndim=3)
    dh_T = None if dh_T is None else as_f32(op, "dh_T", dh_T, ndim=2)
    reserve = as_f32(op, "reserve", reserve, ndim=3)
    return tuple(backend(op, dy, dh_T, *args, reserve).simple_rnn_backward(dy, dh_T, *args, reserve, activation))

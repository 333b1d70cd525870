"""SimpleRNN over a whole sequence, forward and backward through time (Keras 3 layout).

h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias): one input GEMM, then per step one
recurrent GEMM and one fused pointwise pass in C++ (csrc/cpu/simple_rnn.cpp).
"""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, out_kw

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")  # the activations the kernel has built in


# The shape rules and the activation word are the family's contract in C++ (csrc/bindings/contracts/
# simple_rnn.h, bindings/rnn_args.h), shared by both devices; here only conversion and dispatch.
def _weights(op, x, h0, kernel, recurrent_kernel, bias):
    return (as_f32(op, "x", x), as_f32(op, "h0", h0), as_f32(op, "kernel", kernel),
            as_f32(op, "recurrent_kernel", recurrent_kernel), as_f32(op, "bias", bias))


def simple_rnn(x, h0, kernel, recurrent_kernel, bias, *, activation="tanh", training=False, out=None):
    """x (N, T, D), h0 (N, U), kernel (D, U), recurrent_kernel (U, U), bias (U,) -> (y (N, T, U), h_T);
    with training=True also `reserve` (N, T, U) for simple_rnn_backward. activation: one of ACTIVATIONS.
    out: buffers for those 2 (or 3) outputs, each None or an array.

    Arrays: x (N, T, D), h0 (N, U), kernel (D, U), recurrent_kernel (U, U), bias (U,); float32, C order, numpy
    (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns y (N, T, U), h_T (N, U)
    float32 (plus reserve (N, T, U) when training).
    """
    op = "simple_rnn"
    args = _weights(op, x, h0, kernel, recurrent_kernel, bias)
    return tuple(backend(op, *args).simple_rnn(*args, activation, bool(training), **out_kw(out)))


def simple_rnn_backward(dy, dh_T, x, h0, kernel, recurrent_kernel, bias, reserve, *, activation="tanh", out=None):
    """Gradients of simple_rnn(...): dy (N, T, U) or None, dh_T (N, U) or None ->
    (dx, dh0, dkernel, drecurrent_kernel, dbias), into the out= buffers when given (a tuple of 5, each None
    or an array).

    Arrays: float32, C order, shapes as in simple_rnn (reserve as it returned it); numpy (CPU) or CuPy (GPU) on
    one device, results new arrays of that kind. Returns dx (N, T, D), dh0 (N, U), dkernel (D, U),
    drecurrent_kernel (U, U), dbias (U,), float32.
    """
    op = "simple_rnn_backward"
    args = _weights(op, x, h0, kernel, recurrent_kernel, bias)
    dy = None if dy is None else as_f32(op, "dy", dy)
    dh_T = None if dh_T is None else as_f32(op, "dh_T", dh_T)
    reserve = as_f32(op, "reserve", reserve)
    return tuple(backend(op, dy, dh_T, *args, reserve).simple_rnn_backward(dy, dh_T, *args, reserve, activation,
                                                                           **out_kw(out)))

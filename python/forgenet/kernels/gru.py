"""GRU over a whole sequence, forward and backward through time (Keras 3 gate layout z, r, h).

The input projection of all steps is one GEMM; each step then runs its recurrent GEMM and one fused
pointwise pass in C++ (csrc/cpu/gru.cpp; reset_after=False takes two of each, since r gates h before
the h-gate product). Activations are sigmoid and tanh (Keras defaults).
"""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, out_kw

RESERVE_GATES = 5  # reserve is (N, T, 5*U): [z, r, hh, q, h_t] per step


# The shape rules (units from recurrent_kernel, the bias for reset_after, the reserve and gradient shapes) are
# the family's contract in C++ (csrc/bindings/contracts/gru.h), shared by both devices; here only conversion
# and dispatch.
def _weights(op, x, h0, kernel, recurrent_kernel, bias):
    return (as_f32(op, "x", x), as_f32(op, "h0", h0), as_f32(op, "kernel", kernel),
            as_f32(op, "recurrent_kernel", recurrent_kernel), as_f32(op, "bias", bias))


def gru(x, h0, kernel, recurrent_kernel, bias, *, reset_after=True, training=False, out=None):
    """Run a GRU over x (N, T, D) from state h0 (N, U).

    kernel (D, 3U), recurrent_kernel (U, 3U), gates in the order z, r, h. With reset_after (Keras 3's
    default) bias is (2, 3U), [input bias; recurrent bias]:
        [xz xr xh] = x_t @ kernel + bias[0];  [rz rr rh] = h_{t-1} @ recurrent_kernel + bias[1]
        z = sigmoid(xz + rz);  r = sigmoid(xr + rr);  hh = tanh(xh + r * rh)
    without it bias is (3U,) and hh = tanh(xh + (r * h_{t-1}) @ recurrent_kernel[:, 2U:]); in both
    h_t = z * h_{t-1} + (1 - z) * hh. Returns (y (N, T, U) holding every h_t, h_T); with training=True
    also `reserve`, an opaque float32 array of shape (N, T, 5U) to hand to gru_backward unchanged.
    out: buffers for those 2 (or 3) outputs, each None or an array.

    Arrays: x (N, T, D), h0 (N, U), kernel (D, 3U), recurrent_kernel (U, 3U), bias (2, 3U) with reset_after
    else (3U,); all float32, C order (batch-major x), numpy (CPU) or CuPy (GPU) on one device, results new
    arrays of that kind. Returns y (N, T, U) and h_T (N, U) float32 (plus reserve (N, T, 5U) when training).
    """
    args = _weights("gru", x, h0, kernel, recurrent_kernel, bias)
    return tuple(backend("gru", *args).gru(*args, bool(reset_after), bool(training), **out_kw(out)))


def gru_backward(dy, dh_T, x, h0, kernel, recurrent_kernel, bias, reserve, *, reset_after=True, out=None):
    """Gradients of a gru(...) call given those of its outputs: dy (N, T, U) of y (None when only the
    final state is used), dh_T (N, U) of h_T (None: zeros); reserve is gru(..., training=True)'s 3rd
    output. Returns (dx, dh0, dkernel, drecurrent_kernel, dbias), dbias shaped like bias, into the out=
    buffers when given (a tuple of 5, each None or an array).

    Arrays: float32, C order, shapes as in gru (reserve as gru returned it); numpy (CPU) or CuPy (GPU) on one
    device, results new arrays of that kind. Returns dx (N, T, D), dh0 (N, U), dkernel (D, 3U),
    drecurrent_kernel (U, 3U) and dbias (bias's shape), float32.
    """
    op = "gru_backward"
    args = _weights(op, x, h0, kernel, recurrent_kernel, bias)
    dy = None if dy is None else as_f32(op, "dy", dy)
    dh_T = None if dh_T is None else as_f32(op, "dh_T", dh_T)
    reserve = as_f32(op, "reserve", reserve)
    return tuple(backend(op, dy, dh_T, *args, reserve).gru_backward(dy, dh_T, *args, reserve, bool(reset_after),
                                                                    **out_kw(out)))

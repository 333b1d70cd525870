"""2-D convolution on NHWC arrays, forward and backward (im2col + GEMM in the C++ kernels)."""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, out_kw, pair, padding_word


# The geometry rules (kernel vs input and channels, bias and dy shapes) are the family's contract in
# C++ (csrc/bindings/contracts/window.h), shared by both devices; here only conversion and dispatch.
def conv2d(x, kernel, bias=None, *, strides=(1, 1), padding="valid", out=None):
    """Cross-correlation of x (N,H,W,Cin) with kernel (KH,KW,Cin,Cout), plus bias (Cout,) -> (N,Ho,Wo,Cout).

    padding 'valid': Ho = (H - KH) // SH + 1. 'same' (TensorFlow's rule): Ho = ceil(H / SH), the input
    zero-padded by max((Ho - 1) * SH + KH - H, 0) rows, the odd one at the bottom (likewise for W).
    out: a float32 C-contiguous (N, Ho, Wo, Cout) buffer to write y into.

    Arrays: x (N, H, W, Cin) NHWC, kernel (KH, KW, Cin, Cout) HWIO, bias (Cout,) or None; float32, C order;
    numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns y (N, Ho, Wo, Cout)
    float32, NHWC.
    """
    op = "conv2d"
    x = as_f32(op, "x", x, ndim=4)
    kernel = as_f32(op, "kernel", kernel, ndim=4)
    strides, padding = pair(op, "strides", strides), padding_word(op, padding)
    if bias is not None:
        bias = as_f32(op, "bias", bias, ndim=1)
    return backend(op, x, kernel, bias).conv2d(x, kernel, bias, strides=strides, padding=padding, **out_kw(out))


def conv2d_backward(dy, x, kernel, *, strides=(1, 1), padding="valid", need_dx=True, need_db=True, out=None):
    """Gradients of sum(dy * conv2d(x, kernel, bias)): returns (dx, dkernel, dbias) shaped as x, kernel, (Cout,).

    need_dx=False skips the input gradient (dx is then None), as for a network's first layer;
    need_db=False the bias gradient (dbias is then None), as for a convolution without bias.
    out: (dx, dkernel, dbias) buffers, each None or an array (None where need_dx / need_db is False).

    Arrays: dy (N, Ho, Wo, Cout), x (N, H, W, Cin) NHWC, kernel (KH, KW, Cin, Cout); float32, C order; numpy
    (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns dx (N, H, W, Cin) or None,
    dkernel (KH, KW, Cin, Cout), dbias (Cout,) or None, float32.
    """
    op = "conv2d_backward"
    dy = as_f32(op, "dy", dy, ndim=4)
    x = as_f32(op, "x", x, ndim=4)
    kernel = as_f32(op, "kernel", kernel, ndim=4)
    strides, padding = pair(op, "strides", strides), padding_word(op, padding)
    return backend(op, dy, x, kernel).conv2d_backward(dy, x, kernel, strides=strides, padding=padding,
                                                       need_dx=bool(need_dx), need_db=bool(need_db),
                                                       **out_kw(out))

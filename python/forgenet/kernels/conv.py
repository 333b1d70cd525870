"""2-D convolution on NHWC arrays, forward and backward (im2col + GEMM in the C++ kernels)."""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, pair, padding_word


def _geometry(op, x, kernel, strides, padding):
    """Checks x (N,H,W,Cin) against kernel (KH,KW,Cin,Cout); returns (strides, padding, output shape)."""
    strides = pair(op, "strides", strides)
    padding = padding_word(op, padding)
    n, h, w, cin = x.shape
    kh, kw, kcin, cout = kernel.shape
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: kernel must be at least 1x1, got shape {tuple(kernel.shape)}")
    if cin != kcin:
        raise ValueError(f"{op}: x has {cin} channels but kernel {tuple(kernel.shape)} expects {kcin}")
    if padding == "valid":
        if kh > h or kw > w:
            raise ValueError(f"{op}: kernel ({kh}, {kw}) larger than input ({h}, {w}) with padding='valid'")
        ho, wo = (h - kh) // strides[0] + 1, (w - kw) // strides[1] + 1
    else:
        ho, wo = -(-h // strides[0]), -(-w // strides[1])
    return strides, padding, (n, ho, wo, cout)


def conv2d(x, kernel, bias=None, *, strides=(1, 1), padding="valid"):
    """Cross-correlation of x (N,H,W,Cin) with kernel (KH,KW,Cin,Cout), plus bias (Cout,) -> (N,Ho,Wo,Cout).

    padding 'valid': Ho = (H - KH) // SH + 1. 'same' (TensorFlow's rule): Ho = ceil(H / SH), the input
    zero-padded by max((Ho - 1) * SH + KH - H, 0) rows, the odd one at the bottom (likewise for W).

    Arrays: x (N, H, W, Cin) NHWC, kernel (KH, KW, Cin, Cout) HWIO, bias (Cout,) or None; float32, C order;
    numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns y (N, Ho, Wo, Cout)
    float32, NHWC.
    """
    op = "conv2d"
    x = as_f32(op, "x", x, ndim=4)
    kernel = as_f32(op, "kernel", kernel, ndim=4)
    strides, padding, _ = _geometry(op, x, kernel, strides, padding)
    if bias is not None:
        bias = as_f32(op, "bias", bias, ndim=1)
        if bias.shape != (kernel.shape[3],):
            raise ValueError(f"{op}: bias must have shape ({kernel.shape[3]},), got {tuple(bias.shape)}")
    return backend(op, x, kernel, bias).conv2d(x, kernel, bias, strides=strides, padding=padding)


def conv2d_backward(dy, x, kernel, *, strides=(1, 1), padding="valid", need_dx=True):
    """Gradients of sum(dy * conv2d(x, kernel, bias)): returns (dx, dkernel, dbias) shaped as x, kernel, (Cout,).

    need_dx=False skips the input gradient (dx is then None), as for a network's first layer.

    Arrays: dy (N, Ho, Wo, Cout), x (N, H, W, Cin) NHWC, kernel (KH, KW, Cin, Cout); float32, C order; numpy
    (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns dx (N, H, W, Cin) or None,
    dkernel (KH, KW, Cin, Cout), dbias (Cout,), float32.
    """
    op = "conv2d_backward"
    dy = as_f32(op, "dy", dy, ndim=4)
    x = as_f32(op, "x", x, ndim=4)
    kernel = as_f32(op, "kernel", kernel, ndim=4)
    strides, padding, out_shape = _geometry(op, x, kernel, strides, padding)
    if tuple(dy.shape) != out_shape:
        raise ValueError(f"{op}: dy must have the forward output's shape {out_shape}, got {tuple(dy.shape)}")
    return backend(op, dy, x, kernel).conv2d_backward(dy, x, kernel, strides=strides, padding=padding,
                                                       need_dx=bool(need_dx))

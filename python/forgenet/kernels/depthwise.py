"""Depthwise 2-D convolution on NHWC arrays (Keras DepthwiseConv2D), forward and backward."""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, pair, padding_word


def _geometry(op, x, kernel, strides, padding, dilation_rate):
    """Checks x (N,H,W,C) against kernel (KH,KW,C,M); returns (strides, padding, dilation, output shape)."""
    strides = pair(op, "strides", strides)
    dilation = pair(op, "dilation_rate", dilation_rate)
    padding = padding_word(op, padding)
    if any(s > 1 and d > 1 for s, d in zip(strides, dilation)):
        raise ValueError(f"{op}: strides > 1 with dilation_rate > 1 on the same axis is not supported (as Keras), "
                         f"got strides {strides} and dilation_rate {dilation}")
    n, h, w, c = x.shape
    kh, kw, kc, m = kernel.shape
    if kh < 1 or kw < 1 or m < 1:
        raise ValueError(f"{op}: kernel must be at least 1x1 with a depth multiplier >= 1, got shape {tuple(kernel.shape)}")
    if c != kc:
        raise ValueError(f"{op}: x has {c} channels but kernel {tuple(kernel.shape)} expects {kc}")
    eh, ew = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    if padding == "valid":
        if eh > h or ew > w:
            raise ValueError(f"{op}: dilated kernel ({eh}, {ew}) larger than input ({h}, {w}) with padding='valid'")
        ho, wo = (h - eh) // strides[0] + 1, (w - ew) // strides[1] + 1
    else:
        ho, wo = -(-h // strides[0]), -(-w // strides[1])
    return strides, padding, dilation, (n, ho, wo, c * m)


def depthwise_conv2d(x, kernel, bias=None, *, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    """x (N,H,W,C), kernel (KH,KW,C,M), bias (C*M,) -> (N,Ho,Wo,C*M): output channel c*M + m is input
    channel c cross-correlated with kernel[:, :, c, m]. Padding as conv2d, on the dilated window.

    Arrays: x (N, H, W, C) NHWC, kernel (KH, KW, C, M), bias (C*M,) or None; float32, C order, numpy (CPU) or
    CuPy (GPU) on one device. Returns (N, Ho, Wo, C*M) float32.
    """
    op = "depthwise_conv2d"
    x = as_f32(op, "x", x, ndim=4)
    kernel = as_f32(op, "kernel", kernel, ndim=4)
    strides, padding, dilation, out = _geometry(op, x, kernel, strides, padding, dilation_rate)
    if bias is not None:
        bias = as_f32(op, "bias", bias, ndim=1)
        if bias.shape != (out[3],):
            raise ValueError(f"{op}: bias must have shape ({out[3]},), got {tuple(bias.shape)}")
    return backend(op, x, kernel, bias).depthwise_conv2d(x, kernel, bias, strides=strides, padding=padding,
                                                          dilation_rate=dilation)


def depthwise_conv2d_backward(dy, x, kernel, *, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                              need_dx=True):
    """Gradients (dx, dkernel, dbias) of sum(dy * depthwise_conv2d(x, kernel, bias)); dx is None when
    need_dx=False.

    Arrays: dy (N, Ho, Wo, C*M), x (N, H, W, C), kernel (KH, KW, C, M); float32, C order, numpy (CPU) or CuPy
    (GPU) on one device. Returns dx (x's shape or None), dkernel (kernel's shape), dbias (C*M,) float32.
    """
    op = "depthwise_conv2d_backward"
    dy = as_f32(op, "dy", dy, ndim=4)
    x = as_f32(op, "x", x, ndim=4)
    kernel = as_f32(op, "kernel", kernel, ndim=4)
    strides, padding, dilation, out = _geometry(op, x, kernel, strides, padding, dilation_rate)
    if tuple(dy.shape) != out:
        raise ValueError(f"{op}: dy must have the forward output's shape {out}, got {tuple(dy.shape)}")
    return backend(op, dy, x, kernel).depthwise_conv2d_backward(dy, x, kernel, strides=strides, padding=padding,
                                                                 dilation_rate=dilation, need_dx=bool(need_dx))

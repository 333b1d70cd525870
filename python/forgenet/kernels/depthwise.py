"""Depthwise 2-D convolution on NHWC arrays (Keras DepthwiseConv2D), forward and backward."""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, out_kw, pair, padding_word


# The geometry rules (kernel vs input and channels, the dilated window, bias and dy shapes) are the family's
# contract in C++ (csrc/bindings/contracts/depthwise.h, on window.h's sliding-window rule), shared by both
# devices; here only conversion and dispatch.
def _window(op, strides, padding, dilation_rate):
    return dict(strides=pair(op, "strides", strides), padding=padding_word(op, padding),
                dilation_rate=pair(op, "dilation_rate", dilation_rate))


def depthwise_conv2d(x, kernel, bias=None, *, strides=(1, 1), padding="valid", dilation_rate=(1, 1), out=None):
    """x (N,H,W,C), kernel (KH,KW,C,M), bias (C*M,) -> (N,Ho,Wo,C*M): output channel c*M + m is input
    channel c cross-correlated with kernel[:, :, c, m]. Padding as conv2d, on the dilated window
    ((KH - 1) * dilation + 1). out: a float32 C-contiguous (N, Ho, Wo, C*M) buffer to write y into.

    Arrays: x (N, H, W, C) NHWC, kernel (KH, KW, C, M), bias (C*M,) or None; float32, C order, numpy (CPU) or
    CuPy (GPU) on one device, results new arrays of that kind. Returns (N, Ho, Wo, C*M) float32.
    """
    op = "depthwise_conv2d"
    x, kernel = as_f32(op, "x", x), as_f32(op, "kernel", kernel)
    bias = None if bias is None else as_f32(op, "bias", bias)
    return backend(op, x, kernel, bias).depthwise_conv2d(x, kernel, bias, **_window(op, strides, padding, dilation_rate),
                                                          **out_kw(out))


def depthwise_conv2d_backward(dy, x, kernel, *, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                              need_dx=True, out=None):
    """Gradients (dx, dkernel, dbias) of sum(dy * depthwise_conv2d(x, kernel, bias)); dx is None when
    need_dx=False. out: (dx, dkernel, dbias) buffers, each None or an array (dx's None when need_dx=False).

    Arrays: dy (N, Ho, Wo, C*M), x (N, H, W, C), kernel (KH, KW, C, M); float32, C order, numpy (CPU) or CuPy
    (GPU) on one device, results new arrays of that kind. Returns dx (x's shape or None), dkernel (kernel's
    shape), dbias (C*M,) float32.
    """
    op = "depthwise_conv2d_backward"
    dy, x, kernel = as_f32(op, "dy", dy), as_f32(op, "x", x), as_f32(op, "kernel", kernel)
    return backend(op, dy, x, kernel).depthwise_conv2d_backward(dy, x, kernel,
                                                                 **_window(op, strides, padding, dilation_rate),
                                                                 need_dx=bool(need_dx), **out_kw(out))

"""Depthwise 2-D convolution on the depthwise_conv2d kernels."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function, Tensor


class _DepthwiseConv2D(Function):
    def forward(self, x, kernel, bias, strides, padding, dilation_rate):
        self.save(x, kernel, bias is not None, strides, padding, dilation_rate)
        return kernels.depthwise_conv2d(x, kernel, bias, strides=strides, padding=padding, dilation_rate=dilation_rate)

    def backward(self, g):
        x, kernel, has_bias, strides, padding, dilation_rate = self.saved
        need_dx = isinstance(self.inputs[0], Tensor) and self.inputs[0].requires_grad
        dx, dk, db = kernels.depthwise_conv2d_backward(g, x, kernel, strides=strides, padding=padding,
                                                       dilation_rate=dilation_rate, need_dx=need_dx)
        return dx, dk, (db if has_bias else None), None, None, None


def depthwise_conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    """x (N,H,W,C) * kernel (KH,KW,C,M) per channel + bias (C*M,) -> (N,Ho,Wo,C*M); differentiable in all three."""
    return _DepthwiseConv2D.apply(x, kernel, bias, tuple(strides), padding, tuple(dilation_rate))

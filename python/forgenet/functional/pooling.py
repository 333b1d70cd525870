"""2-D max and average pooling on the pooling kernels (backward recomputes from x: nothing else kept)."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function


class _MaxPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.save(x, pool_size, strides, padding)
        return kernels.max_pool2d(x, pool_size, strides, padding)

    def backward(self, g):
        x, pool_size, strides, padding = self.saved
        return kernels.max_pool2d_backward(g, x, pool_size, strides, padding), None, None, None


class _AvgPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.save(x, pool_size, strides, padding)
        return kernels.avg_pool2d(x, pool_size, strides, padding)

    def backward(self, g):
        x, pool_size, strides, padding = self.saved
        return kernels.avg_pool2d_backward(g, x, pool_size, strides, padding), None, None, None


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Max over pool_size windows of x (N,H,W,C); strides default to pool_size."""
    return _MaxPool2D.apply(x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Mean over the real (unpadded) elements of pool_size windows of x (N,H,W,C)."""
    return _AvgPool2D.apply(x, pool_size, strides, padding)

"""2-D convolution on the conv2d kernels, with the bias (and a ReLU, when asked) fused into the call."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function, Tensor
from forgenet.functional.activation import relu_grad, relu_inplace


class _Conv2D(Function):
    def forward(self, x, kernel, bias, strides, padding, relu):
        y = kernels.conv2d(x, kernel, bias, strides=strides, padding=padding)
        if relu:  # in place on a fresh output: no extra buffer, and y > 0 is all backward needs
            relu_inplace(y)
        self.save(x, kernel, bias is not None, strides, padding, y if relu else None)
        return y

    def backward(self, g):
        x, kernel, has_bias, strides, padding, y = self.saved
        if y is not None:
            g = relu_grad(g, y)
        need_dx = isinstance(self.inputs[0], Tensor) and self.inputs[0].requires_grad
        dx, dk, db = kernels.conv2d_backward(g, x, kernel, strides=strides, padding=padding, need_dx=need_dx,
                                             need_db=has_bias)
        return dx, dk, db, None, None, None


def conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", relu=False):
    """x (N,H,W,Cin) * kernel (KH,KW,Cin,Cout) + bias (Cout,) -> (N,Ho,Wo,Cout), optionally relu'd.

    Differentiable in x, kernel and bias; 'same' padding follows Keras/TensorFlow.
    """
    return _Conv2D.apply(x, kernel, bias, strides, padding, bool(relu))

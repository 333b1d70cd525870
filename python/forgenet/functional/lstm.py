"""The whole-sequence LSTM as one differentiable function (forward and backward through time in C++)."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function, Tensor, array_module, grad_enabled


class _LSTM(Function):
    def forward(self, x, h0, c0, kernel, recurrent_kernel, bias):
        y, h, c, reserve = kernels.lstm(x, h0, c0, kernel, recurrent_kernel, bias, training=True)
        self.save(x, h0, c0, kernel, recurrent_kernel, bias, reserve)
        return y, h, c

    def backward(self, dy, dh, dc):
        # outputs nobody used arrive as None, which the kernel reads as zeros
        return kernels.lstm_backward(dy, dh, dc, *self.saved)


def lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    """x (N,T,D), states (N,U), kernel (D,4U), recurrent_kernel (U,4U), bias (4U,) -> (y, h_T, c_T).

    Keras gate order i, f, c, o with tanh / sigmoid. Differentiable in every argument; when no
    gradient is wanted the kernel runs without keeping its reserve.
    """
    args = (x, h0, c0, kernel, recurrent_kernel, bias)
    if grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in args):
        return _LSTM.apply(*args)
    data = [a.data if isinstance(a, Tensor) else a for a in args]
    return tuple(Tensor(o) for o in kernels.lstm(*data))


def zeros_state(x, units):
    """Zero (N, units) states matching x's batch and array kind."""
    data = x.data if isinstance(x, Tensor) else x
    return array_module(data).zeros((data.shape[0], units), dtype="float32")

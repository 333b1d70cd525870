"""The whole-sequence GRU and SimpleRNN as differentiable functions (forward and backward through
time in C++)."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function, Tensor, grad_enabled


class _GRU(Function):
    def forward(self, x, h0, kernel, recurrent_kernel, bias, reset_after=True):
        y, h, reserve = kernels.gru(x, h0, kernel, recurrent_kernel, bias, reset_after=reset_after, training=True)
        self.reset_after = reset_after
        self.save(x, h0, kernel, recurrent_kernel, bias, reserve)
        return y, h

    def backward(self, dy, dh):
        # outputs nobody used arrive as None, which the kernel reads as zeros
        return kernels.gru_backward(dy, dh, *self.saved, reset_after=self.reset_after)


class _SimpleRNN(Function):
    def forward(self, x, h0, kernel, recurrent_kernel, bias, activation="tanh"):
        y, h, reserve = kernels.simple_rnn(x, h0, kernel, recurrent_kernel, bias, activation=activation,
                                           training=True)
        self.activation = activation
        self.save(x, h0, kernel, recurrent_kernel, bias, reserve)
        return y, h

    def backward(self, dy, dh):
        return kernels.simple_rnn_backward(dy, dh, *self.saved, activation=self.activation)


def _needs_grad(args):
    return grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in args)


def gru(x, h0, kernel, recurrent_kernel, bias, reset_after=True):
    """x (N,T,D), h0 (N,U), kernel (D,3U), recurrent_kernel (U,3U), bias (2,3U) with reset_after else
    (3U,) -> (y, h_T). Keras gate order z, r, h with sigmoid / tanh; differentiable in every array."""
    args = (x, h0, kernel, recurrent_kernel, bias)
    if _needs_grad(args):
        return _GRU.apply(*args, reset_after=bool(reset_after))
    data = [a.data if isinstance(a, Tensor) else a for a in args]
    return tuple(Tensor(o) for o in kernels.gru(*data, reset_after=bool(reset_after)))


def simple_rnn(x, h0, kernel, recurrent_kernel, bias, activation="tanh"):
    """x (N,T,D), h0 (N,U), kernel (D,U), recurrent_kernel (U,U), bias (U,) -> (y, h_T), with
    h_t = activation(x_t kernel + h_{t-1} recurrent_kernel + bias); activation one of
    kernels.simple_rnn.ACTIVATIONS."""
    args = (x, h0, kernel, recurrent_kernel, bias)
    if _needs_grad(args):
        return _SimpleRNN.apply(*args, activation=activation)
    data = [a.data if isinstance(a, Tensor) else a for a in args]
    return tuple(Tensor(o) for o in kernels.simple_rnn(*data, activation=activation))

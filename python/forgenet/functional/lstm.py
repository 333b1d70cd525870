"""The whole-sequence LSTM as one differentiable function (forward and backward through time in C++)."""
from __future__ import annotations

import numpy as np

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


class _EmbeddingLSTM(Function):
    """An LSTM fed straight by an embedding lookup, x = table[ids]: x @ kernel is (table @ kernel)[ids],
    so the (N*T, D, 4U) input GEMM becomes a (vocab, D, 4U) one and a gather; backward, the gradients
    of x @ kernel summed per id (S, (vocab, 4U)) give dkernel = table^T S and dtable = S kernel^T in
    place of the (N*T)-row GEMMs for dx and dkernel."""

    def forward(self, table, ids, h0, c0, kernel, recurrent_kernel, bias):
        xw = kernels.embedding(ids, kernels.gemm(table, kernel))
        y, h, c, reserve = kernels.lstm(xw, h0, c0, None, recurrent_kernel, bias, training=True)
        self.save(table, ids, xw, h0, c0, kernel, recurrent_kernel, bias, reserve)
        return y, h, c

    def backward(self, dy, dh, dc):
        table, ids, xw, h0, c0, kernel, recurrent_kernel, bias, reserve = self.saved
        dxw, dh0, dc0, _, drk, db = kernels.lstm_backward(dy, dh, dc, xw, h0, c0, None, recurrent_kernel, bias,
                                                          reserve)
        s = kernels.embedding_backward(dxw, ids, table.shape[0])
        dtable = kernels.gemm(s, kernel, trans_b=True) if self.needs_grad[0] else None
        dkernel = kernels.gemm(table, s, trans_a=True) if self.needs_grad[4] else None
        return dtable, None, dh0, dc0, dkernel, drk, db


def _embedding_source(x):
    """(table, ids) when x is a recorded embedding lookup worth folding into the LSTM's input GEMM
    (CPU arrays, fewer table rows than looked-up rows), else None."""
    from forgenet.functional.embedding import _Embedding

    node = x._node if isinstance(x, Tensor) else None
    if type(node) is not _Embedding or getattr(node, "inputs", None) is None:
        return None
    table, ids = node.inputs
    t = table.data if isinstance(table, Tensor) else table
    i = ids.data if isinstance(ids, Tensor) else ids
    if type(t) is not np.ndarray or type(i) is not np.ndarray or i.ndim != 2 or t.shape[0] * 2 > i.size:
        return None
    return table, ids


def lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    """x (N,T,D), states (N,U), kernel (D,4U), recurrent_kernel (U,4U), bias (4U,) -> (y, h_T, c_T).

    Keras gate order i, f, c, o with tanh / sigmoid. Differentiable in every argument; when no
    gradient is wanted the kernel runs without keeping its reserve. When x is an embedding lookup
    the autograd recorded, the lookup is folded into the input projection (_EmbeddingLSTM): same
    values and gradients, up to float32 rounding.
    """
    args = (x, h0, c0, kernel, recurrent_kernel, bias)
    if grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in args):
        src = _embedding_source(x)
        if src is not None:
            return _EmbeddingLSTM.apply(src[0], src[1], h0, c0, kernel, recurrent_kernel, bias)
        return _LSTM.apply(*args)
    data = [a.data if isinstance(a, Tensor) else a for a in args]
    return tuple(Tensor(o) for o in kernels.lstm(*data))


def zeros_state(x, units):
    """Zero (N, units) states matching x's batch and array kind."""
    data = x.data if isinstance(x, Tensor) else x
    return array_module(data).zeros((data.shape[0], units), dtype="float32")

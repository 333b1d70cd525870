"""Elementwise arithmetic (numpy broadcasting), matmul on our GEMM, and shape functions."""
from __future__ import annotations

import builtins

import numpy as np

from forgenet import kernels
from forgenet.autograd.tensor import Function, Tensor, array_module


def _unbroadcast(g, shape):
    """Sum a broadcast gradient back down to `shape`."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _as_operand(x, like):
    """Constants join float32 math as float32 (a float64 numpy constant must not upcast the graph)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)):
        return float(x)
    return array_module(like.data if isinstance(like, Tensor) else like).asarray(x, dtype=np.float32)


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


class _Add(Function):
    def forward(self, a, b):
        self.save(_shape(a), _shape(b))
        return a + b

    def backward(self, g):
        sa, sb = self.saved
        return _unbroadcast(g, sa), _unbroadcast(g, sb)


class _Sub(Function):
    def forward(self, a, b):
        self.save(_shape(a), _shape(b))
        return a - b

    def backward(self, g):
        sa, sb = self.saved
        return _unbroadcast(g, sa), _unbroadcast(-g, sb)


class _Mul(Function):
    def forward(self, a, b):
        self.save(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        return _unbroadcast(g * b, _shape(a)), _unbroadcast(g * a, _shape(b))


class _Div(Function):
    def forward(self, a, b):
        self.save(a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved
        return _unbroadcast(g / b, _shape(a)), _unbroadcast(-g * a / (b * b), _shape(b))


class _Power(Function):
    def forward(self, a, p):
        self.save(a, p)
        return a ** p

    def backward(self, g):
        a, p = self.saved
        return g * p * a ** (p - 1), None


class _Exp(Function):
    def forward(self, a):
        y = array_module(a).exp(a)
        self.save(y)
        return y

    def backward(self, g):
        return g * self.saved[0]


class _Log(Function):
    def forward(self, a):
        self.save(a)
        return array_module(a).log(a)

    def backward(self, g):
        return g / self.saved[0]


class _MatMul(Function):
    """a (..., K) @ b (K, N) as one GEMM on the flattened leading dimensions (our kernel, not BLAS)."""

    def forward(self, a, b):
        if b.ndim != 2 or a.ndim < 1 or a.shape[-1] != b.shape[0]:
            raise ValueError(f"matmul: expected a (..., K) and b (K, N), got {tuple(a.shape)} and {tuple(b.shape)}")
        self.save(a, b)
        a2 = a.reshape(-1, a.shape[-1])
        return kernels.gemm(a2, b).reshape(a.shape[:-1] + (b.shape[1],))

    def backward(self, g):
        a, b = self.saved
        need_a, need_b = self.needs_grad or (True, True)
        g2 = g.reshape(-1, g.shape[-1])
        da = kernels.gemm(g2, b, trans_b=True).reshape(a.shape) if need_a else None
        db = kernels.gemm(a.reshape(-1, a.shape[-1]), g2, trans_a=True) if need_b else None  # not for a frozen kernel
        return da, db


class _Reshape(Function):
    def forward(self, a, shape):
        self.save(a.shape)
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.saved[0]), None


class _Transpose(Function):
    def forward(self, a, axes):
        self.save(axes)
        return a.transpose(axes)

    def backward(self, g):
        axes = self.saved[0]
        return (g.transpose() if axes is None else g.transpose(np.argsort(axes))), None


class _Sum(Function):
    def forward(self, a, axis, keepdims):
        self.save(a.shape, axis, keepdims)
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        shape, axis, keepdims = self.saved
        if axis is not None and not keepdims:
            g = array_module(g).expand_dims(g, axis)
        return array_module(g).broadcast_to(g, shape).copy(), None, None


class _GetItem(Function):
    def forward(self, a, idx):
        self.save(a.shape, idx)
        return a[idx]

    def backward(self, g):
        shape, idx = self.saved
        xp = array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        xp.add.at(out, idx, g)  # add.at, not assignment: an index may repeat
        return out, None


class _Concatenate(Function):
    def forward(self, *arrays, axis=-1):
        self.save([a.shape[axis] for a in arrays], axis)
        return array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, g):
        sizes, axis = self.saved
        cuts = np.cumsum(sizes)[:-1]
        return tuple(array_module(g).split(g, cuts, axis=axis))


def add(a, b): return _Add.apply(_as_operand(a, b), _as_operand(b, a))
def sub(a, b): return _Sub.apply(_as_operand(a, b), _as_operand(b, a))
def mul(a, b): return _Mul.apply(_as_operand(a, b), _as_operand(b, a))
def div(a, b): return _Div.apply(_as_operand(a, b), _as_operand(b, a))
def power(a, p: float): return _Power.apply(a, float(p))
def exp(a): return _Exp.apply(a)
def log(a): return _Log.apply(a)
def sqrt(a): return _Power.apply(a, 0.5)
def matmul(a, b): return _MatMul.apply(_as_operand(a, b), _as_operand(b, a))
def reshape(a, shape): return _Reshape.apply(a, tuple(shape))
def transpose(a, axes=None): return _Transpose.apply(a, None if axes is None else tuple(axes))
def sum(a, axis=None, keepdims=False): return _Sum.apply(a, axis, keepdims)
def getitem(a, idx): return _GetItem.apply(a, idx)
def concatenate(tensors, axis=-1): return _Concatenate.apply(*tensors, axis=axis)


def mean(a, axis=None, keepdims=False):
    shape = _shape(a)
    axes = range(len(shape)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    n = 1
    for ax in axes:
        n *= shape[ax]
    return mul(sum(a, axis=axis, keepdims=keepdims), 1.0 / builtins.max(n, 1))

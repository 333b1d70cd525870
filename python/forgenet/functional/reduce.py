"""Differentiable reductions beyond sum/mean: max/min (gradient shared among ties, as torch's amax),
prod (exact with zeros), cumsum/cumprod, and compositions (logsumexp, var, std)."""
from __future__ import annotations

import builtins

import numpy as np

from forgenet.autograd.tensor import Function, array_module
from forgenet.functional import math as M


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(int(a) % builtins.max(ndim, 1) for a in axis))


def _keep(g, shape, axis):
    """g reduced over `axis` without keepdims -> the keepdims shape, for broadcasting against the input."""
    return g.reshape(tuple(1 if i in _axes(axis, len(shape)) else n for i, n in enumerate(shape)))


class _MaxMin(Function):
    def forward(self, a, axis, keepdims, is_max):
        xp = array_module(a)
        y = (xp.max if is_max else xp.min)(a, axis=axis, keepdims=True)
        self.save(a, y, axis)
        return y if keepdims else y.reshape(tuple(n for i, n in enumerate(a.shape)
                                                   if i not in _axes(axis, a.ndim)))

    def backward(self, g):
        a, y, axis = self.saved
        mask = (a == y).astype(g.dtype)
        mask /= mask.sum(axis=_axes(axis, a.ndim), keepdims=True)
        return _keep(g, a.shape, axis) * mask, None, None, None


class _Prod(Function):
    def forward(self, a, axis, keepdims):
        xp = array_module(a)
        ax = _axes(axis, a.ndim)
        zero = a == 0
        nz = xp.where(zero, 1, a)
        self.save(a.shape, ax, zero, nz, zero.sum(axis=ax, keepdims=True), nz.prod(axis=ax, keepdims=True))
        return a.prod(axis=ax, keepdims=keepdims)

    def backward(self, g):
        shape, ax, zero, nz, nzero, pnz = self.saved
        xp = array_module(g)
        g = g.reshape(tuple(1 if i in ax else n for i, n in enumerate(shape)))
        # d prod / d a_i = product of the others: prod/a_i with no zeros; with exactly one zero only that
        # element gets the product of the non-zeros; with two or more, nothing does
        d = xp.where(nzero == 0, pnz / nz, xp.where((nzero == 1) & zero, pnz, 0))
        return (g * d).astype(g.dtype, copy=False), None, None


class _CumSum(Function):
    def forward(self, a, axis):
        self.save(axis)
        return array_module(a).cumsum(a, axis=axis)

    def backward(self, g):
        xp, axis = array_module(g), self.saved[0]
        return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis), None


class _CumProd(Function):
    def forward(self, a, axis):
        y = array_module(a).cumprod(a, axis=axis)
        self.save(a, y, axis)
        return y

    def backward(self, g):
        a, y, axis = self.saved  # d y_j / d a_i = y_j / a_i for j >= i (inputs assumed non-zero)
        xp = array_module(g)
        return xp.flip(xp.cumsum(xp.flip(g * y, axis), axis=axis), axis) / a, None


def max(a, axis=None, keepdims=False): return _MaxMin.apply(a, axis, keepdims, True)
def min(a, axis=None, keepdims=False): return _MaxMin.apply(a, axis, keepdims, False)
def prod(a, axis=None, keepdims=False): return _Prod.apply(a, axis, keepdims)


def cumsum(a, axis=None):
    if axis is None:
        a, axis = M.reshape(a, (-1,)), 0
    return _CumSum.apply(a, int(axis))


def cumprod(a, axis=None):
    if axis is None:
        a, axis = M.reshape(a, (-1,)), 0
    return _CumProd.apply(a, int(axis))


def logsumexp(a, axis=None, keepdims=False):
    xp = array_module(a.data)
    m = xp.max(a.data, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # a constant shift: no gradient needed through it
    s = M.log(M.sum(M.exp(a - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return s
    return M.reshape(s, tuple(n for i, n in enumerate(a.shape) if i not in _axes(axis, a.ndim)))


def var(a, axis=None, keepdims=False):
    d = a - M.mean(a, axis=axis, keepdims=True)
    return M.mean(d * d, axis=axis, keepdims=keepdims)


def std(a, axis=None, keepdims=False):
    return M.sqrt(var(a, axis=axis, keepdims=keepdims))

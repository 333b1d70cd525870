"""Differentiable shape and indexing functions.

Every rearrangement that only moves or copies elements (tile, repeat, pad, flip, take,
take_along_axis, roll, broadcast_to...) is one `_Gather`: the forward picks elements by a map of flat
input positions, computed once by running the numpy function on `arange`; the backward adds each
output gradient back to the position it came from. One backward, right for all of them.
"""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import Function, Tensor, array_module
from forgenet.functional import math as M


class _Gather(Function):
    """out = x.flat[index] (index < 0: fill); dx = scatter-add of g at index."""

    def forward(self, x, index, fill):
        xp = array_module(x)
        flat = x.reshape(-1)
        idx = xp.asarray(index)
        pad = idx < 0
        out = flat[xp.where(pad, 0, idx)]
        if pad.any():
            out = xp.where(pad, xp.asarray(fill, dtype=x.dtype), out)
        self.save(x.shape, idx, pad)
        return out

    def backward(self, g):
        shape, idx, pad = self.saved
        xp = array_module(g)
        size = int(np.prod(shape))
        keep = ~pad
        if xp is np:
            d = np.bincount(idx[keep], weights=g[keep], minlength=size).astype(g.dtype)
        else:
            d = xp.zeros(size, g.dtype)
            xp.add.at(d, idx[keep], g[keep])
        return d.reshape(shape), None, None


def _positions(x):
    return np.arange(int(np.prod(x.shape)), dtype=np.int64).reshape(x.shape)


def gather_by(x, fn, fill=0.0):
    """Apply a pure element-moving numpy function `fn(array) -> array` differentiably."""
    return _Gather.apply(x, fn(_positions(x)), fill)


def tile(x, reps): return gather_by(x, lambda p: np.tile(p, reps))
def repeat(x, repeats, axis=None): return gather_by(x, lambda p: np.repeat(p, repeats, axis=axis))
def flip(x, axis=None): return gather_by(x, lambda p: np.flip(p, axis=axis))
def roll(x, shift, axis=None): return gather_by(x, lambda p: np.roll(p, shift, axis=axis))
def broadcast_to(x, shape): return gather_by(x, lambda p: np.broadcast_to(p, tuple(shape)).copy())
def take(x, indices, axis=None): return gather_by(x, lambda p: np.take(p, _int(indices), axis=axis))


def take_along_axis(x, indices, axis=None):
    return gather_by(x, lambda p: np.take_along_axis(p, _int(indices), axis=axis))


def tril(x, k=0): return gather_by(x, lambda p: np.where(np.tri(*p.shape[-2:], k=k, dtype=bool), p, -1))
def triu(x, k=0): return gather_by(x, lambda p: np.where(np.tri(*p.shape[-2:], k=k - 1, dtype=bool), -1, p))
def diagonal(x, offset=0, axis1=0, axis2=1): return gather_by(x, lambda p: np.diagonal(p, offset, axis1, axis2).copy())


def pad(x, pad_width, mode="constant", constant_values=0.0):
    if mode == "constant":
        return gather_by(x, lambda p: np.pad(p, pad_width, mode="constant", constant_values=-1),
                         fill=constant_values)
    return gather_by(x, lambda p: np.pad(p, pad_width, mode=mode))


def _int(indices):
    i = indices.data if isinstance(indices, Tensor) else indices
    i = i.get() if hasattr(i, "get") and not isinstance(i, np.ndarray) else np.asarray(i)
    return i.astype(np.int64)


def expand_dims(x, axis):
    shape = list(x.shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    n = len(shape) + len(axes)
    for a in sorted(ax % n for ax in axes):
        shape.insert(a, 1)
    return M.reshape(x, tuple(shape))


def squeeze(x, axis=None):
    if axis is None:
        return M.reshape(x, tuple(n for n in x.shape if n != 1))
    axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: cannot squeeze axis {a} of size {x.shape[a]} (shape {tuple(x.shape)})")
    return M.reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def stack(xs, axis=0):
    return M.concatenate([expand_dims(t, axis) for t in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if n % k:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into {k} equal sections")
        cuts = [i * (n // k) for i in range(1, k)]
    else:
        cuts = list(indices_or_sections)
    bounds = [0, *cuts, n]
    ax = axis % x.ndim
    return [M.getitem(x, (slice(None),) * ax + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def moveaxis(x, source, destination):
    src = [s % x.ndim for s in ((source,) if isinstance(source, int) else source)]
    dst = [d % x.ndim for d in ((destination,) if isinstance(destination, int) else destination)]
    rest = [a for a in range(x.ndim) if a not in src]
    order = [None] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    it = iter(rest)
    order = [o if o is not None else next(it) for o in order]
    return M.transpose(x, order)


def swapaxes(x, axis1, axis2):
    order = list(range(x.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return M.transpose(x, order)

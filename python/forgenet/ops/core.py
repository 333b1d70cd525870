"""keras.ops core: conversion, casting, shapes, slicing and scatter, and control flow.

forgenet runs eagerly, so cond / while_loop / fori_loop / scan / map are the Python control flow
they describe (what Keras's torch backend does); gradients flow through whatever the bodies compute.
"""
from __future__ import annotations

import builtins

import numpy as np

from forgenet.autograd.tensor import Function, Tensor, array_module
from forgenet.functional import math as M
from forgenet.functional import shape as S
from forgenet.ops._dispatch import array_op, as_array, tensor_op

_slice = builtins.slice  # `slice` below is keras.ops.slice


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse or ragged:
        raise ValueError("forgenet.ops.convert_to_tensor: sparse and ragged tensors are not supported")
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == np.dtype(dtype) else cast(x, dtype)
    if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray) and not type(x).__module__.startswith("cupy"):
        x = np.from_dlpack(x)
    if type(x).__module__.startswith("cupy"):
        return Tensor(x if dtype is None else x.astype(dtype))
    a = np.asarray(x, dtype=dtype) if dtype is not None else as_array(x)
    if dtype is None and a.dtype == np.float64:  # Keras: Python floats and float64 data become floatx
        a = a.astype(np.float32)
    return Tensor(a)


def convert_to_numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy()
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def shape(x) -> tuple:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def dtype(x) -> str:
    return np.dtype(getattr(x, "dtype", np.asarray(x).dtype)).name


class _Cast(Function):
    def forward(self, x, dt):
        self.save(x.dtype)
        return x.astype(dt)

    def backward(self, g):
        return g.astype(self.saved[0]), None


def cast(x, dtype):
    dt = np.dtype(getattr(dtype, "name", dtype) if not isinstance(dtype, (str, type)) else dtype)
    if isinstance(x, Tensor):
        if dt == x.dtype:
            return x
        if dt.kind == "f" and x.dtype.kind == "f":  # between float types the gradient flows (cast back)
            return _Cast.apply(x, dt)
        return Tensor(x.data.astype(dt))  # to or from integers: no gradient, as in Keras
    a = as_array(x)
    return array_module(a).asarray(a).astype(dt)


def stop_gradient(x):
    return x.detach() if isinstance(x, Tensor) else x


@tensor_op("x")
def slice(x, start_indices, shape):
    return M.getitem(x, tuple(_slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape)))




class _Scatter(Function):
    """A copy of x with `values` written (or added) at `index`; the gradient splits accordingly."""

    def forward(self, x, values, index, add):
        out = x.copy()
        if add:
            array_module(x).add.at(out, index, values)
        else:
            out[index] = values
        self.save(index, add, values.shape if hasattr(values, "shape") else ())
        return out

    def backward(self, g):
        index, add, vshape = self.saved
        gv = g[index].reshape(vshape) if vshape else g[index]
        gx = g if add else g.copy()
        if not add:
            gx[index] = 0
        return gx, gv, None, None


@tensor_op("inputs", "updates")
def slice_update(inputs, start_indices, updates):
    idx = tuple(_slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, updates.shape))
    return _Scatter.apply(inputs, M.mul(updates, 1) if updates.dtype.kind == "f" else updates, idx, False)


@tensor_op("inputs", "updates")
def scatter_update(inputs, indices, updates):
    ind = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    return _Scatter.apply(inputs, updates, tuple(ind.T), False)


@tensor_op("values")
def scatter(indices, values, shape):
    """keras.ops.scatter: zeros of `shape` with `values` added at `indices` (N, rank)."""
    ind = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    base = array_module(values.data).zeros(tuple(shape), values.dtype)
    return _Scatter.apply(Tensor(base), values, tuple(ind.T), True)


@tensor_op("x")
def unstack(x, num=None, axis=0):
    n = x.shape[axis]
    return [S.squeeze(t, axis) for t in S.split(x, n, axis)]


def cond(pred, true_fn, false_fn):
    return true_fn() if bool(convert_to_numpy(pred)) else false_fn()


def switch(index, branches, *operands):
    i = int(np.clip(int(convert_to_numpy(index)), 0, len(branches) - 1))
    return branches[i](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    single = not isinstance(loop_vars, (list, tuple))
    vars_ = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(convert_to_numpy(cond(*vars_))) and (maximum_iterations is None or n < maximum_iterations):
        out = body(*vars_)
        vars_ = (out,) if single or not isinstance(out, (list, tuple)) else tuple(out)
        n += 1
    return vars_[0] if single else type(loop_vars)(vars_) if isinstance(loop_vars, list) else vars_


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def map(f, xs):
    from forgenet.ops.numpy import stack
    return stack([f(xs[i]) for i in range(len(xs))])


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    from forgenet.ops.numpy import stack
    n = len(xs) if xs is not None else int(length)
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else xs[i])
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    return carry, (stack(ys) if ys and ys[0] is not None else None)


def associative_scan(f, elems, reverse=False, axis=0):
    raise NotImplementedError("forgenet.ops.associative_scan is not supported")


@array_op("x")
def saturate_cast(x, dtype):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
    return array_module(x).clip(x, info.min, info.max).astype(dtype)


def vectorized_map(function, elements):
    return map(function, elements)

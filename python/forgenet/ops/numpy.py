"""keras.ops numpy-style functions, differentiable on Tensors."""
from __future__ import annotations

import builtins

from forgenet import functional as F
from forgenet.ops._dispatch import tensor_op


@tensor_op
def add(x1, x2): return F.add(x1, x2)


@tensor_op
def subtract(x1, x2): return F.sub(x1, x2)


@tensor_op
def multiply(x1, x2): return F.mul(x1, x2)


@tensor_op
def divide(x1, x2): return F.div(x1, x2)


@tensor_op
def negative(x): return F.mul(x, -1.0)


@tensor_op
def power(x1, x2): return F.power(x1, x2)


@tensor_op
def exp(x): return F.exp(x)


@tensor_op
def log(x): return F.log(x)


@tensor_op
def sqrt(x): return F.sqrt(x)


@tensor_op
def matmul(x1, x2): return F.matmul(x1, x2)


@tensor_op
def reshape(x, newshape): return F.reshape(x, newshape)


@tensor_op
def transpose(x, axes=None): return F.transpose(x, axes)


@tensor_op
def sum(x, axis=None, keepdims=False): return F.sum(x, axis=axis, keepdims=keepdims)


@tensor_op
def mean(x, axis=None, keepdims=False): return F.mean(x, axis=axis, keepdims=keepdims)


@tensor_op
def concatenate(xs, axis=0): return F.concatenate(list(xs), axis=axis)


del builtins

"""One rule for every keras.ops function: Tensors in -> recorded Tensors out; arrays in -> arrays out."""
from __future__ import annotations

import functools

import numpy as np

from forgenet.autograd.tensor import Tensor, no_grad


def _has_tensor(items) -> bool:
    for t in items:
        if isinstance(t, Tensor):
            return True
        if isinstance(t, (list, tuple)) and _has_tensor(t):
            return True
    return False


def _wrap(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(t) for t in x)
    if isinstance(x, Tensor) or not (hasattr(x, "shape") and hasattr(x, "dtype")):
        return x
    return Tensor(x)


def _unwrap(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(t) for t in x)
    return x.data if isinstance(x, Tensor) else x


def tensor_op(fn):
    """Run `fn` (written on Tensors with forgenet.functional) on Tensors, or eagerly on arrays."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _has_tensor(args) or _has_tensor(kwargs.values()):
            return fn(*args, **kwargs)
        with no_grad():
            args = tuple(_wrap(np.asarray(a, np.float32) if isinstance(a, (list, float, int)) and not
                               isinstance(a, bool) else a) for a in args)
            return _unwrap(fn(*args, **{k: _wrap(v) for k, v in kwargs.items()}))

    return op

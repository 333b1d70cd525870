"""Argument handling shared by every op: backend dispatch and validation.

Every public op funnels its array arguments through `as_f32` (or `as_labels`), so that errors read
the same everywhere: they name the op and the argument, say what was expected and what came.
"""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import _C


def backend(op: str, *arrays):
    """The extension module that runs `op` on these arrays: `_C` for numpy, `_cuda` for CuPy.

    Mixing array kinds is an error rather than a silent transfer.
    """
    kinds = {_kind(a) for a in arrays if a is not None}
    if len(kinds) > 1:
        raise TypeError(f"{op}: all arrays must be on the same device, got a mix of {sorted(kinds)}")
    if kinds == {"cupy"}:
        from forgenet import _cuda_backend  # imported lazily: importing forgenet never needs a GPU

        return _cuda_backend.module(op)
    return _C


def _kind(a) -> str:
    mod = type(a).__module__
    return "cupy" if mod.startswith("cupy") else "numpy"


def _refuse_tensor(op: str, name: str, a):
    # a Tensor converts to an array through __array__, which would silently cut it out of the graph
    from forgenet.autograd.tensor import Tensor

    if isinstance(a, Tensor):
        raise TypeError(f"{op}: {name} is a forgenet Tensor; forgenet.kernels take arrays (use forgenet.ops or "
                        "forgenet.functional on Tensors, or pass tensor.numpy() to cut it from the graph)")


def as_f32(op: str, name: str, a, ndim: int | None = None):
    """Return `a` as a C-contiguous float32 array of rank `ndim`; never casts other dtypes."""
    _refuse_tensor(op, name, a)
    if _kind(a) == "cupy":
        import cupy as xp
    else:
        xp = np
        if not isinstance(a, np.ndarray):
            if hasattr(a, "__dlpack__") and not isinstance(a, (list, tuple)):
                a = np.from_dlpack(a)  # e.g. a torch CPU tensor, without a copy
            else:
                a = np.asarray(a)
    if a.dtype != np.float32:
        raise TypeError(f"{op}: {name} must be float32, got {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{op}: {name} must have rank {ndim}, got shape {tuple(a.shape)}")
    # not ascontiguousarray, which would turn a 0-d array into a 1-d one
    return a if a.flags.c_contiguous else xp.ascontiguousarray(a)


def as_labels(op: str, name: str, a, n: int, num_classes: int):
    """Integer class labels as a contiguous int64 vector of length n with values in [0, num_classes)."""
    _refuse_tensor(op, name, a)
    xp = np
    if _kind(a) == "cupy":
        import cupy as xp
    else:
        a = np.asarray(a)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be integer class ids, got {a.dtype}")
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{op}: {name} must have shape ({n},), got {tuple(a.shape)}")
    if n and (int(a.min()) < 0 or int(a.max()) >= num_classes):
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise ValueError(f"{op}: {name} must be in [0, {num_classes}), got {bad}")
    return xp.ascontiguousarray(a, dtype=np.int64)


def pair(op: str, name: str, v) -> tuple[int, int]:
    """An int or a pair of ints, each >= 1 (Keras accepts both for kernel_size, strides, pool_size)."""
    if isinstance(v, numbers.Integral):
        v = (int(v), int(v))
    try:
        h, w = (int(t) for t in v)
        if (h, w) != tuple(v):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"{op}: {name} must be positive, got {(h, w)}")
    return h, w


def padding_word(op: str, padding) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    return p

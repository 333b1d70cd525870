"""keras.ops core: conversion, casting and shapes."""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def convert_to_tensor(x, dtype=None, sparse=None):
    if sparse:
        raise ValueError("forgenet.ops.convert_to_tensor: sparse tensors are not supported")
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == np.dtype(dtype) else Tensor(x.data.astype(dtype))
    if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray) and not type(x).__module__.startswith("cupy"):
        x = np.from_dlpack(x)
    a = np.asarray(x, dtype=dtype) if not type(x).__module__.startswith("cupy") else x
    if dtype is None and a.dtype == np.float64:  # Keras: Python floats become floatx
        a = a.astype(np.float32)
    return Tensor(a)


def convert_to_numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy()
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def shape(x) -> tuple:
    return tuple(x.shape)


def cast(x, dtype):
    if isinstance(x, Tensor):
        if np.dtype(dtype) == x.dtype:
            return x
        if np.dtype(dtype) != np.float32:  # leaves the float32 graph: no gradient flows back, as in Keras
            return Tensor(x.data.astype(dtype))
        return Tensor(x.data.astype(dtype))
    return array_module(x).asarray(x).astype(dtype)


def stop_gradient(x):
    return x.detach() if isinstance(x, Tensor) else x

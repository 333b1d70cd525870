"""A numpy-backed stand-in for the part of CuPy forgenet touches, so a model on "cuda" can be trained
here, on the CPU, through the emulated forgenet._cuda (tests/cuda_emu/conftest.py).

Its arrays are numpy arrays of a subclass whose type lives in module "cupy" (so forgenet's dispatch
sends them to forgenet._cuda) and which exposes __cuda_array_interface__ (so the emulated bindings
accept them: its kernels dereference host pointers). Like real CuPy, and unlike numpy, an operation
that mixes one of them with a plain numpy array raises TypeError: that is the class of bug (host
data left behind on the way to the GPU) this stand-in exists to catch. What it cannot catch:
np.asarray() on a GPU array, which real CuPy refuses and a numpy subclass cannot.
"""
from __future__ import annotations

import sys
import types

import numpy as np


class ndarray(np.ndarray):
    __module__ = "cupy"

    @property
    def __cuda_array_interface__(self):
        strides = None if self.flags.c_contiguous else self.strides
        return {"shape": self.shape, "typestr": self.dtype.str, "strides": strides,
                "data": (self.ctypes.data if self.size else 0, False), "version": 3}

    def get(self):
        return np.array(self.view(np.ndarray))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_host(ufunc.__name__, inputs + tuple(kwargs.get("out", ())))
        if "out" in kwargs:
            kwargs["out"] = tuple(_host(o) for o in kwargs["out"])
        return _device(getattr(ufunc, method)(*(_host(a) for a in inputs), **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        _refuse_host(func.__name__, _flat(args) + _flat(tuple(kwargs.values())))
        return _device(func(*_host(args), **_host(kwargs)))


def _flat(items):
    out = []
    for a in items:
        out.extend(_flat(a) if isinstance(a, (list, tuple)) else [a])
    return tuple(out)


def _refuse_host(what, arrays):
    for a in arrays:
        if isinstance(a, np.ndarray) and not isinstance(a, ndarray) and a.ndim > 0:
            raise TypeError(f"fake cupy: {what} mixes a GPU array with a numpy array of shape {a.shape}")


def _host(a):
    if isinstance(a, ndarray):
        return a.view(np.ndarray)
    if isinstance(a, (list, tuple)):
        return type(a)(_host(x) for x in a)
    if isinstance(a, dict):
        return {k: _host(v) for k, v in a.items()}
    return a


def _device(r):
    if isinstance(r, np.generic):
        r = np.asarray(r)  # CuPy's reductions give 0-d arrays, not scalars
    if isinstance(r, np.ndarray) and not isinstance(r, ndarray):
        return r.view(ndarray)
    if isinstance(r, (list, tuple)):
        return type(r)(_device(x) for x in r)
    return r


def _function(name, fn):
    def call(*args, **kwargs):
        return _device(fn(*_host(args), **_host(kwargs)))

    call.__name__ = name
    return call


def _module_getattr(name):
    obj = getattr(np, name)  # AttributeError for what numpy lacks too
    if isinstance(obj, (type, np.ufunc)) or not callable(obj):
        return obj  # dtypes, constants; ufuncs keep the subclass (and its checks) on their own
    return _function(name, obj)


def asnumpy(a):
    return np.array(_host(a))


def make_module():
    """A fresh module object to install as sys.modules["cupy"]."""
    m = types.ModuleType("cupy")
    m.__getattr__ = _module_getattr
    m.ndarray = ndarray
    m.asnumpy = asnumpy
    stream = types.SimpleNamespace(ptr=0, synchronize=lambda: None)
    m.cuda = types.SimpleNamespace(get_current_stream=lambda: stream)
    return m


def install(monkeypatch):
    """sys.modules["cupy"] = the stand-in, for the duration of one test."""
    m = make_module()
    monkeypatch.setitem(sys.modules, "cupy", m)
    return m

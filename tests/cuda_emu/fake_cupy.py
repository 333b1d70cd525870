"""A numpy-backed stand-in for the part of CuPy forgenet and its GPU tests touch, so a model on "cuda"
can be trained here, on the CPU, through the emulated forgenet._cuda (tests/cuda_emu/emu_support.py),
and tests/gpu/ can be dry-run (FORGENET_GPU_EMULATE=1, tests/gpu/conftest.py).

Its arrays are numpy arrays of a subclass whose type lives in module "cupy" (so forgenet's dispatch
sends them to forgenet._cuda) and which exposes __cuda_array_interface__ (so the emulated bindings
accept them: its kernels dereference host pointers). Like real CuPy, and unlike numpy, an operation
that mixes one of them with a plain numpy array raises TypeError: that is the class of bug (host
data left behind on the way to the GPU) this stand-in exists to catch. cupy.asarray/array copy host
data, as an upload does. What it cannot catch: np.asarray() on a GPU array, which real CuPy refuses
and a numpy subclass cannot; a function CuPy lacks but numpy has (any numpy name is served).

Besides numpy's namespace: cupy.asnumpy, cupy.testing (numpy.testing on asnumpy'd arguments),
cupyx.scatter_add (make_cupyx() is the "cupyx" module), cupy.random (numpy.random with device
results; default_rng gives a Generator whose draws are on the device), cupy.get_default_memory_pool(),
and cupy.cuda with
  * runtime.getDeviceCount() = 1, runtime.getDeviceProperties(0) (name b"forgenet CPU emulator");
  * Device(0) (a context manager; synchronize() is a no-op; any other id raises on entering, as CuPy
    does for a device that is not there);
  * Stream(...) (a context manager and .use(): get_current_stream() returns the innermost one; .ptr
    is a distinct nonzero number per stream, 0 for the null stream; the emulated kernels run
    synchronously on the host, so streams order nothing and synchronize() is a no-op);
  * Event / get_elapsed_time: host wall-clock between two record() calls, in ms (the work between
    them has run by then, the emulator being synchronous).
The memory pool is an approximation: used_bytes() counts the live host buffers behind fake CuPy arrays
made by this module (fresh results, not views; so also not arrays made by viewing numpy data some
other way), total_bytes() is the peak of that since the last free_all_blocks() (as if the pool kept
every freed block cached), free_all_blocks() resets that peak to used_bytes().
"""
from __future__ import annotations

import itertools
import sys
import time
import types
import weakref

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
        _pool.track(r)
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


def asnumpy(a, stream=None):
    return np.array(_host(a))


def asarray(a, dtype=None, order=None):
    """A device array as it is (cast when asked), anything else copied, like an upload."""
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == dtype else _device(a.view(np.ndarray).astype(dtype))
    return _device(np.array(_host(a), dtype=dtype, order=order or "K"))


# ------------------------------------------------------------------------------------- memory pool
class MemoryPool:
    """Bytes of live host buffers behind this module's arrays; see the module docstring."""

    def __init__(self):
        self._used = self._peak = 0
        self._tracked = set()

    def track(self, a):
        if a.base is not None or a.nbytes == 0 or id(a) in self._tracked:
            return  # a view, or nothing: no new memory
        self._tracked.add(id(a))
        self._used += a.nbytes
        self._peak = max(self._peak, self._used)
        weakref.finalize(a, self._release, id(a), a.nbytes)

    def _release(self, key, nbytes):
        self._tracked.discard(key)
        self._used -= nbytes

    def used_bytes(self):
        return self._used

    def total_bytes(self):
        return self._peak

    def free_bytes(self):
        return self._peak - self._used

    def free_all_blocks(self, stream=None):
        self._peak = self._used


_pool = MemoryPool()


# ------------------------------------------------------------------------------- cupy.cuda, cupy.random
class Stream:
    """A stream the emulator ignores: it only says what get_current_stream() returns."""

    _ptrs = itertools.count(0x1000, 0x10)

    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.ptr = 0 if null else next(Stream._ptrs)
        self.non_blocking = non_blocking

    def synchronize(self):
        pass

    def use(self):
        _streams[0] = self
        return self

    def __enter__(self):
        _streams.append(self)
        return self

    def __exit__(self, *exc):
        _streams.pop()


Stream.null = Stream(null=True)
_streams = [Stream.null]  # [0]: the one `use()` set; the rest: `with` blocks, innermost last


def get_current_stream(device_id=-1):
    return _streams[-1]


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._t = None

    def record(self, stream=None):
        self._t = time.perf_counter()

    def synchronize(self):
        pass

    @property
    def done(self):
        return True


def get_elapsed_time(start, end):
    if start._t is None or end._t is None:
        raise RuntimeError("fake cupy: get_elapsed_time on an event that was never recorded")
    return (end._t - start._t) * 1e3


class Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def __enter__(self):
        if self.id != 0:
            raise RuntimeError(f"fake cupy: CUDA device {self.id} does not exist (one emulated device, 0)")
        return self

    def __exit__(self, *exc):
        pass

    def use(self):
        self.__enter__()

    def synchronize(self):
        pass


def _runtime():
    props = {"name": b"forgenet CPU emulator", "major": 0, "minor": 0, "totalGlobalMem": 0,
             "multiProcessorCount": 1}

    def properties(device):
        if device != 0:
            raise RuntimeError(f"fake cupy: CUDA device {device} does not exist")
        return dict(props)

    return types.SimpleNamespace(getDeviceCount=lambda: 1, getDevice=lambda: 0, getDeviceProperties=properties,
                                 deviceSynchronize=lambda: None)


class _OnDevice:
    """`obj` (numpy.random or a Generator) with every call's array results moved to the device."""

    def __init__(self, obj):
        self._obj = obj

    def __getattr__(self, name):
        attr = getattr(self._obj, name)
        if not callable(attr) or isinstance(attr, type):
            return attr

        def call(*args, **kwargs):
            r = attr(*_host(args), **_host(kwargs))
            return _OnDevice(r) if isinstance(r, np.random.Generator) else _device(r)

        call.__name__ = name
        return call


def _testing():
    def on_host(fn):
        def check(actual, desired, *args, **kwargs):
            return fn(asnumpy(actual), asnumpy(desired), *args, **kwargs)

        check.__name__ = fn.__name__
        return check

    names = ("assert_allclose", "assert_array_equal", "assert_array_almost_equal", "assert_array_less",
             "assert_array_max_ulp")
    return types.SimpleNamespace(**{n: on_host(getattr(np.testing, n)) for n in names})


def make_module():
    """A fresh module object to install as sys.modules["cupy"] (the streams and the pool are shared)."""
    m = types.ModuleType("cupy")
    m.__getattr__ = _module_getattr
    m.ndarray = ndarray
    m.asnumpy = asnumpy
    m.asarray = asarray
    m.array = lambda a, dtype=None, copy=True, order="K", ndmin=0: _device(
        np.array(_host(a), dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    m.get_array_module = lambda *arrays: m if any(isinstance(a, ndarray) for a in arrays) else np
    m.get_default_memory_pool = lambda: _pool
    m.random = _OnDevice(np.random)
    m.testing = _testing()
    m.cuda = types.SimpleNamespace(get_current_stream=get_current_stream, Stream=Stream, Event=Event,
                                   get_elapsed_time=get_elapsed_time, Device=Device, runtime=_runtime())
    return m


def make_cupyx():
    """A module to install as sys.modules["cupyx"]: scatter_add (numpy.add.at on the device array)."""
    m = types.ModuleType("cupyx")

    def scatter_add(a, slices, value):
        if not isinstance(a, ndarray):
            raise TypeError("fake cupyx: scatter_add needs a GPU array to add into")
        _refuse_host("scatter_add", _flat((slices, value)))
        np.add.at(_host(a), _host(slices), _host(value))

    m.scatter_add = scatter_add
    return m


def install(monkeypatch):
    """sys.modules["cupy"] = the stand-in, for the duration of one test."""
    m = make_module()
    monkeypatch.setitem(sys.modules, "cupy", m)
    return m

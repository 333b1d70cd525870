"""The GPU side of forgenet.kernels: what `ops._array.backend(op, ...)` returns for CuPy arrays.

`module(op)` returns an object with the same functions, names and signatures as forgenet._C
(softmax, softmax_cross_entropy, gemm, conv2d, max_pool2d, ...), taking and returning CuPy arrays, so
an op file calls `backend(op, x).softmax(x)` whatever the device. Each call runs on CuPy's current
stream (nothing synchronises) and allocates its outputs and scratch memory through CuPy, so CuPy's
memory pool manages all of it; the pool is stream-ordered, which makes freeing scratch right after
queuing the kernels safe.

Nothing here is imported by `import forgenet`: CuPy, the driver and a GPU are needed only when an op
actually meets a CuPy array, and then their absence is a clear error.
"""
from __future__ import annotations

INSTALL_HINT = "forgenet: ops on CuPy arrays need CuPy: pip install forgenet[cuda]"

_ops = None  # the _Ops once CuPy, forgenet._cuda and a GPU have all been found


class _Ops:
    """forgenet._C's op functions on CuPy arrays, backed by forgenet._cuda."""

    def __init__(self, cuda, cupy):
        self._cuda = cuda
        self._cupy = cupy
        self._alloc = lambda shape: cupy.empty(shape, dtype=cupy.float32)

    def __getattr__(self, name):
        fn = getattr(self._cuda, name, None) if not name.startswith("_") else None
        if fn is None or name in _NOT_OPS:
            raise NotImplementedError(f"{name}: no CUDA kernel for this op yet (forgenet._cuda has no '{name}'); "
                                      "run it on numpy arrays")
        get_stream = self._cupy.cuda.get_current_stream
        alloc = self._alloc

        def op(*args, **kwargs):
            return fn(*args, stream=get_stream().ptr, alloc=alloc, **kwargs)

        op.__name__ = name
        op.__doc__ = fn.__doc__
        setattr(self, name, op)  # later lookups skip __getattr__; the stream is still read per call
        return op


_NOT_OPS = {"device_count", "device_status", "runtime_version", "driver_version"}


def module(op: str):
    """The CUDA implementation of forgenet._C's functions, or a clear error saying what is missing."""
    global _ops
    if _ops is not None:
        return _ops
    try:
        import cupy
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    cuda = _cuda_module(op)
    if cuda.device_count() == 0:
        raise RuntimeError(f"{op}: no CUDA GPU found ({cuda.device_status()})")
    _ops = _Ops(cuda, cupy)
    return _ops


def _cuda_module(op: str):
    try:
        from forgenet import _cuda
    except ImportError as e:
        if not built_with_cuda():
            raise RuntimeError(f"{op}: this forgenet was built without CUDA (no nvcc was found at build time); "
                               "reinstall with nvcc on PATH, or with -C cmake.define.FORGENET_CUDA=ON to make "
                               "that an error") from e
        raise RuntimeError(f"{op}: forgenet._cuda failed to load: {e}") from e
    return _cuda


def built_with_cuda() -> bool:
    """Whether this build of forgenet includes the CUDA kernels (forgenet._cuda)."""
    try:
        from forgenet import _build_info
    except ImportError:  # not built by CMake (e.g. a source tree on sys.path)
        return False
    return bool(_build_info.HAS_CUDA)


def available() -> bool:
    """True when ops on CuPy arrays can run here: CuPy importable, forgenet._cuda built, a GPU present."""
    try:
        module("forgenet")
    except (ImportError, RuntimeError):
        return False
    return True

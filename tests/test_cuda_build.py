"""The CUDA build and dispatch, as far as they can be checked without a GPU (these run everywhere).

A machine with nvcc must produce forgenet._cuda (so a CUDA compile error fails CI rather than quietly
yielding a CPU-only package); `import forgenet` must never need CuPy, a driver or a GPU; and every way
the GPU path can be missing must be a clear error.
"""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import forgenet
from forgenet import _C, _build_info, _cuda_backend


def _nvcc_present() -> bool:
    return bool(os.environ.get("CUDACXX") or shutil.which("nvcc") or os.path.exists("/usr/local/cuda/bin/nvcc"))


def _run(code: str, **env) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter with no visible GPU (or the given environment)."""
    full_env = dict(os.environ, CUDA_VISIBLE_DEVICES="", **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_cuda_module_built_when_nvcc_present():
    if _build_info.CUDA_MODE == "OFF":
        pytest.skip("built with FORGENET_CUDA=OFF")
    if not _nvcc_present():
        assert _build_info.CUDA_MODE != "ON"
        pytest.skip("no nvcc on this machine: the CPU-only build is expected")
    assert _build_info.HAS_CUDA, "nvcc is present but forgenet._cuda was not built (see the CMake output)"
    from forgenet import _cuda

    for name in ("gemm", "softmax", "softmax_backward", "softmax_cross_entropy", "conv2d", "conv2d_backward",
                 "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "device_count"):
        assert hasattr(_cuda, name), name
    assert _cuda.runtime_version() >= 12000


def test_import_forgenet_needs_no_cuda():
    r = _run("""
        import sys
        import forgenet
        assert "forgenet._cuda" not in sys.modules
        assert "cupy" not in sys.modules
        import numpy as np
        print(forgenet.kernels.softmax(np.zeros((2, 3), np.float32)).sum())
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "2.0"


def test_import_forgenet_without_cupy_installed():
    r = _run("""
        import sys
        sys.modules["cupy"] = None  # import cupy now raises ImportError
        import forgenet
        from forgenet import _cuda_backend
        try:
            _cuda_backend.module("softmax")
        except ImportError as e:
            print(e)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "forgenet: ops on CuPy arrays need CuPy: pip install forgenet[cuda]"


@pytest.mark.skipif(not _build_info.HAS_CUDA, reason="forgenet._cuda not built")
def test_device_count_is_zero_without_gpu():
    r = _run("""
        from forgenet import _cuda
        print(_cuda.device_count())
        print(_cuda.device_status())
    """)
    assert r.returncode == 0, r.stderr
    count, why = r.stdout.strip().split("\n")
    assert count == "0"
    assert why  # the reason, e.g. cudaErrorNoDevice or cudaErrorInsufficientDriver


def test_backend_without_gpu_is_a_clear_error():
    r = _run("""
        import sys, types
        try:
            import cupy
        except ImportError:  # CuPy itself need not be installed for this path
            sys.modules["cupy"] = types.ModuleType("cupy")
        from forgenet.kernels._array import backend

        class FakeCupyArray:  # what backend() sees of a CuPy array: its type's module
            pass
        FakeCupyArray.__module__ = "cupy._core.core"
        try:
            backend("softmax", FakeCupyArray())
        except RuntimeError as e:
            print(e)
    """)
    assert r.returncode == 0, r.stderr
    if _build_info.HAS_CUDA:
        assert r.stdout.startswith("softmax: no CUDA GPU found ("), r.stdout
    else:
        assert "built without CUDA" in r.stdout, r.stdout


def test_mixed_devices_rejected():
    class FakeCupyArray:
        pass

    FakeCupyArray.__module__ = "cupy._core.core"
    import numpy as np

    with pytest.raises(TypeError, match="softmax: all arrays must be on the same device"):
        forgenet.kernels._array.backend("softmax", np.zeros(3, np.float32), FakeCupyArray())


# ---- forgenet._cuda's own argument checks, on fake device arrays (they run before any GPU is needed)

class FakeDeviceArray:
    """Just a __cuda_array_interface__: enough for the checks, never dereferenced."""

    def __init__(self, shape, typestr="<f4", strides=None, ptr=0x1000):
        self.__cuda_array_interface__ = {"shape": tuple(shape), "typestr": typestr, "strides": strides,
                                         "data": (ptr, False), "version": 3}


def _cuda_or_skip():
    if not _build_info.HAS_CUDA:
        pytest.skip("forgenet._cuda not built")
    from forgenet import _cuda

    return _cuda


def _alloc(shape):
    return FakeDeviceArray(shape)


@pytest.mark.parametrize("call, exc, match", [
    (lambda c: c.softmax(object(), stream=0, alloc=_alloc), TypeError,
     r"softmax: x must be a GPU array \(CuPy, or anything with __cuda_array_interface__\), got object"),
    (lambda c: c.softmax(FakeDeviceArray((2, 3), "<f8"), stream=0, alloc=_alloc), TypeError,
     "softmax: x must be float32, got float64"),
    (lambda c: c.softmax(FakeDeviceArray(()), stream=0, alloc=_alloc), ValueError,
     "softmax: x must have rank >= 1, got a scalar"),
    (lambda c: c.softmax(FakeDeviceArray((2, 3), strides=(4, 8)), stream=0, alloc=_alloc), ValueError,
     "softmax: x must be C-contiguous"),
    (lambda c: c.softmax(FakeDeviceArray((2, 3), ptr=0), stream=0, alloc=_alloc), ValueError,
     "softmax: x has a null data pointer but 6 elements"),
    (lambda c: c.softmax_backward(FakeDeviceArray((2, 3)), FakeDeviceArray((3, 2)), stream=0, alloc=_alloc),
     ValueError, r"softmax_backward: dy and y must have the same shape, got \(2, 3\) and \(3, 2\)"),
    (lambda c: c.softmax_cross_entropy(FakeDeviceArray((4, 3)), FakeDeviceArray((4,), "<i4"), stream=0,
                                       alloc=_alloc), TypeError,
     "softmax_cross_entropy: labels must be int64, got int32"),
    (lambda c: c.softmax_cross_entropy(FakeDeviceArray((4, 3)), FakeDeviceArray((5,), "<i8"), stream=0,
                                       alloc=_alloc), ValueError,
     r"softmax_cross_entropy: labels must have shape \(4,\) to match logits \(4, 3\), got \(5,\)"),
    (lambda c: c.gemm(FakeDeviceArray((2, 3)), FakeDeviceArray((4, 5)), stream=0, alloc=_alloc), ValueError,
     r"gemm: inner dimensions must match, got op\(a\) of shape \(2, 3\) and op\(b\) of shape \(4, 5\)"),
    (lambda c: c.gemm(FakeDeviceArray((2, 3)), FakeDeviceArray((3, 5)), beta=1.0, stream=0, alloc=_alloc),
     ValueError, r"gemm: c is required when beta != 0"),
    (lambda c: c.conv2d(FakeDeviceArray((1, 5, 5, 2)), FakeDeviceArray((3, 3, 4, 8)), stream=0, alloc=_alloc),
     ValueError, r"conv2d: x has 2 channels but kernel \(3, 3, 4, 8\) expects 4"),
    (lambda c: c.conv2d(FakeDeviceArray((1, 5, 5, 2)), FakeDeviceArray((3, 3, 2, 8)), padding="full", stream=0,
                        alloc=_alloc), ValueError, "conv2d: padding must be 'valid' or 'same', got 'full'"),
    (lambda c: c.max_pool2d(FakeDeviceArray((1, 5, 5, 2)), pool_size=(0, 2), stream=0, alloc=_alloc), ValueError,
     r"max_pool2d: pool_size must be positive, got \(0, 2\)"),
    (lambda c: c.avg_pool2d_backward(FakeDeviceArray((1, 3, 3, 2)), FakeDeviceArray((1, 5, 5, 2)), stream=0,
                                     alloc=_alloc), ValueError,
     r"avg_pool2d_backward: dy must have the forward output's shape \(1, 2, 2, 2\), got \(1, 3, 3, 2\)"),
])
def test_cuda_argument_checks(call, exc, match):
    with pytest.raises(exc, match=match):
        call(_cuda_or_skip())


def test_well_formed_call_without_gpu_raises_runtime_error():
    _cuda_or_skip()
    r = _run("""
        from forgenet import _cuda
        a = {"shape": (2, 3), "typestr": "<f4", "strides": None, "data": (4096, False), "version": 3}
        x = type("X", (), {"__cuda_array_interface__": a})()
        try:
            _cuda.softmax(x, stream=0, alloc=lambda shape: None)
        except RuntimeError as e:
            print(e)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("softmax: no CUDA GPU found ("), r.stdout


def test_unported_op_says_so():
    ops = _cuda_backend._Ops(type("M", (), {})(), None)
    with pytest.raises(NotImplementedError, match="gru: no CUDA kernel for this op yet"):
        ops.gru


def test_every_cpu_op_has_a_cuda_twin():
    """Ops dispatch CuPy arrays to forgenet._cuda by name, so each public _C op needs its namesake there."""
    cuda = _cuda_or_skip()
    cpu_only = {"gemm_kernel", "gemm_reference", "isa", "get_num_threads", "set_num_threads",
                "measure_clock_mhz", "measure_fma_gflops",  # CPU internals and the bench's clock and FMA rate
                "PackedB", "gemm_pack_b",  # CPU micro-kernel panels: a CuPy b is a NotImplementedError
                # pointwise ReLU passes: on CuPy arrays kernels/pointwise.py uses CuPy's own elementwise ops
                "relu_", "relu_backward", "bias_relu_backward"}
    ops = {n for n in dir(_C) if not n.startswith("_")} - cpu_only
    assert sorted(n for n in ops if not hasattr(cuda, n)) == []

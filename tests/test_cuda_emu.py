"""The CUDA kernels and their bindings, run on the CPU (no GPU, no nvcc needed).

csrc/cuda/*.cu are compiled by the host compiler against tests/cuda_emu/cuda_emu.h, which runs each
CUDA thread as a fiber with a real barrier for __syncthreads, and
  * tests/cuda_emu/check_kernels.cpp checks every kernel against double-precision loops (odd shapes,
    all transposes, split-K, chunked convolutions, padding rules, NaN rows);
  * the same objects with csrc/bindings/cuda/*.cpp and a one-device runtime stand-in
    (tests/cuda_emu/runtime_emu.cpp) make an emulated forgenet._cuda, whose ops run end to end on
    host memory behind __cuda_array_interface__ and must match forgenet._C.
The real-GPU checks are tests/gpu/test_cuda_ops.py (scripts/gpu-check.sh).
"""
import importlib.util
import pathlib
import shutil
import subprocess
import sys
import sysconfig
from types import SimpleNamespace

import numpy as np
import pytest

from forgenet import _C, _cuda_backend

REPO = pathlib.Path(__file__).resolve().parents[1]
KERNELS = ["gemm.cu", "softmax.cu", "pooling.cu", "conv2d.cu"]
FLAGS = ["-std=c++17", "-O1", "-fPIC", "-Wno-unknown-pragmas", "-Wno-deprecated-declarations", "-DFORGENET_CUDA_EMU",
         "-DFORGENET_CONV_COLUMN_BUDGET=2000",  # small column buffers, so convolutions run in chunks
         f"-I{REPO / 'tests' / 'cuda_emu'}", f"-I{REPO / 'csrc'}"]


def _compile_all(cxx, jobs):
    """Runs (cmd, what) compile jobs two at a time; fails the test with the compiler's message."""
    running = []
    for cmd, what in jobs:
        running.append((subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), what))
        if len(running) == 2:
            _wait(running.pop(0))
    for r in running:
        _wait(r)


def _wait(job):
    proc, what = job
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"compiling {what} failed:\n{out[-4000:]}"


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    pybind11 = pytest.importorskip("pybind11")
    d = tmp_path_factory.mktemp("cuda_emu")
    py_inc = [f"-I{pybind11.get_include()}", f"-I{sysconfig.get_paths()['include']}"]
    objs, jobs = [], []
    sources = [REPO / "csrc" / "cuda" / k for k in KERNELS] + [REPO / "tests" / "cuda_emu" / "runtime_emu.cpp"]
    sources += sorted((REPO / "csrc" / "bindings" / "cuda").glob("*.cpp"))
    for src in sources:
        obj = d / (src.name + ".o")
        lang = ["-x", "c++"] if src.suffix == ".cu" else []
        jobs.append(([cxx, *FLAGS, *py_inc, "-c", *lang, str(src), "-o", str(obj)], src.name))
        objs.append(obj)
    _compile_all(cxx, jobs)
    kernel_objs = [str(o) for o in objs[:len(KERNELS)]]
    exe = d / "check_kernels"
    ext = d / ("_cuda" + sysconfig.get_config_var("EXT_SUFFIX"))
    _compile_all(cxx, [
        ([cxx, *FLAGS, str(REPO / "tests" / "cuda_emu" / "check_kernels.cpp"), *kernel_objs, "-o", str(exe)],
         "check_kernels"),
        ([cxx, "-shared", *[str(o) for o in objs], "-o", str(ext)], "the emulated _cuda module"),
    ])
    spec = importlib.util.spec_from_file_location("_cuda", ext)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return SimpleNamespace(exe=exe, module=module)


def test_kernels_against_double_precision_loops(emu):
    run = subprocess.run([str(emu.exe)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert run.stdout.strip().endswith(", 0 failed"), run.stdout


# ---- the bindings, end to end on host memory

class HostDeviceArray:
    """A numpy array presented as device memory (the emulated kernels dereference host pointers)."""

    def __init__(self, a):
        self.a = np.ascontiguousarray(a)
        self.__cuda_array_interface__ = {"shape": self.a.shape, "typestr": self.a.dtype.str, "strides": None,
                                         "data": (self.a.ctypes.data, False), "version": 3}


def _alloc(shape):
    return HostDeviceArray(np.full(shape, np.nan, np.float32))  # NaN: anything not written shows


@pytest.fixture(scope="module")
def ops(emu):
    """forgenet._cuda_backend's wrapper around the emulated module, with a CuPy stand-in."""
    fake_cupy = SimpleNamespace(float32=np.float32, empty=lambda shape, dtype: _alloc(shape),
                                cuda=SimpleNamespace(get_current_stream=lambda: SimpleNamespace(ptr=0)))
    return _cuda_backend._Ops(emu.module, fake_cupy)


def _host(out):
    return tuple(o.a for o in out) if isinstance(out, tuple) else out.a


def _same(what, ours, cpu, rtol=1e-5, atol=1e-5):
    ours = ours if isinstance(ours, tuple) else (ours,)
    cpu = cpu if isinstance(cpu, tuple) else (cpu,)
    assert len(ours) == len(cpu), what
    for i, (o, c) in enumerate(zip(ours, cpu)):
        np.testing.assert_allclose(o, c, rtol=rtol, atol=atol, err_msg=f"{what}, output {i}")


D = HostDeviceArray


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m,n,k,beta", [(1, 1, 1, 0.0), (13, 7, 29, 0.5), (70, 66, 1500, 1.0)])
def test_gemm_binding(ops, rng, trans_a, trans_b, m, n, k, beta):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c = rng.standard_normal((m, n)).astype(np.float32) if beta else None
    # positional, exactly as python/forgenet/ops/gemm.py calls backend(...).gemm
    ours = ops.gemm(D(a), D(b), D(c) if beta else None, trans_a, trans_b, 0.5, beta)
    _same("gemm", _host(ours), _C.gemm(a, b, c, trans_a, trans_b, 0.5, beta), rtol=1e-4, atol=1e-4)


def test_softmax_bindings(ops, rng):
    x = rng.standard_normal((3, 4, 37)).astype(np.float32)
    y = _C.softmax(x)
    _same("softmax", _host(ops.softmax(D(x))), y)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    _same("softmax_backward", _host(ops.softmax_backward(D(dy), D(y))), _C.softmax_backward(dy, y))
    logits = rng.standard_normal((9, 13)).astype(np.float32)
    labels = rng.integers(0, 13, 9)
    _same("xent sparse", _host(ops.softmax_cross_entropy(D(logits), D(labels))),
          _C.softmax_cross_entropy(logits, labels))
    target = rng.dirichlet(np.ones(13), 9).astype(np.float32)
    _same("xent dense", _host(ops.softmax_cross_entropy(D(logits), D(target))),
          _C.softmax_cross_entropy(logits, target))


@pytest.mark.parametrize("pool,strides,padding", [((2, 2), (2, 2), "valid"), ((3, 3), (1, 1), "same"),
                                                  ((3, 2), (2, 3), "same")])
def test_pooling_bindings(ops, rng, pool, strides, padding):
    x = rng.standard_normal((2, 9, 7, 3)).astype(np.float32)
    for name in ("max_pool2d", "avg_pool2d"):
        y = getattr(_C, name)(x, pool, strides, padding)
        # positional, as python/forgenet/ops/pooling.py calls them
        _same(name, _host(getattr(ops, name)(D(x), pool, strides, padding)), y)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        _same(name + "_backward", _host(getattr(ops, name + "_backward")(D(dy), D(x), pool, strides, padding)),
              getattr(_C, name + "_backward")(dy, x, pool, strides, padding))


@pytest.mark.parametrize("xs,ks,strides,padding,bias", [
    ((2, 9, 8, 3), (3, 3, 3, 5), (2, 1), "same", True), ((1, 6, 7, 2), (2, 3, 2, 4), (1, 2), "valid", False),
    ((2, 5, 5, 3), (1, 1, 3, 6), (1, 1), "valid", True), ((0, 5, 5, 2), (3, 3, 2, 4), (1, 1), "same", True)])
def test_conv2d_bindings(ops, rng, xs, ks, strides, padding, bias):
    x, k = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ks).astype(np.float32)
    b = rng.standard_normal(ks[3]).astype(np.float32) if bias else None
    y = _C.conv2d(x, k, b, strides=strides, padding=padding)
    _same("conv2d", _host(ops.conv2d(D(x), D(k), D(b) if bias else None, strides=strides, padding=padding)), y,
          rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    _same("conv2d_backward", _host(ops.conv2d_backward(D(dy), D(x), D(k), strides=strides, padding=padding)),
          _C.conv2d_backward(dy, x, k, strides=strides, padding=padding), rtol=1e-4, atol=1e-4)


def test_a_misbehaving_allocator_is_an_error(emu):
    x = D(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"softmax: alloc returned y of shape \(3, 2\), asked for \(2, 3\)"):
        emu.module.softmax(x, stream=0, alloc=lambda shape: _alloc(shape[::-1]))
    with pytest.raises(TypeError, match="softmax: y must be a GPU array"):
        emu.module.softmax(x, stream=0, alloc=lambda shape: np.empty(shape, np.float32))

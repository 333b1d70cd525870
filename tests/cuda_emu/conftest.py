"""Builds the emulated forgenet._cuda once per session (no GPU, no nvcc needed).

csrc/cuda/*.cu are compiled by the host compiler against tests/cuda_emu/cuda_emu.h, which runs each
CUDA thread as a fiber with a real barrier for __syncthreads. From those objects come
  * one program per tests/cuda_emu/check_*.cpp, checking kernels against double-precision loops;
  * with csrc/bindings/cuda/*.cpp and a one-device runtime stand-in (runtime_emu.cpp), an emulated
    forgenet._cuda whose ops run end to end on host memory behind __cuda_array_interface__.
"""
import importlib.util
import pathlib
import shutil
import subprocess
import sysconfig
from types import SimpleNamespace

import numpy as np
import pytest

from emu_support import CHECKERS, HERE, alloc

REPO = HERE.parents[1]
KERNELS = sorted(p for p in (REPO / "csrc" / "cuda").glob("*.cu") if p.name != "runtime.cu")
FLAGS = ["-std=c++17", "-O1", "-fPIC", "-Wno-unknown-pragmas", "-Wno-deprecated-declarations", "-DFORGENET_CUDA_EMU",
         "-DFORGENET_CONV_COLUMN_BUDGET=2000",  # small column buffers, so convolutions run in chunks
         f"-I{HERE}", f"-I{REPO / 'csrc'}"]


def _compile_all(jobs):
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
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"compiling {what} failed:\n{out[-4000:]}"


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    """SimpleNamespace(checkers={name: executable}, module=the emulated _cuda)."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    pybind11 = pytest.importorskip("pybind11")
    d = tmp_path_factory.mktemp("cuda_emu")
    py_inc = [f"-I{pybind11.get_include()}", f"-I{sysconfig.get_paths()['include']}"]
    sources = KERNELS + [HERE / "runtime_emu.cpp"] + sorted((REPO / "csrc" / "bindings" / "cuda").glob("*.cpp"))
    objs, jobs = [], []
    for src in sources:
        obj = d / (src.name + ".o")
        lang = ["-x", "c++"] if src.suffix == ".cu" else []
        jobs.append(([cxx, *FLAGS, *py_inc, "-c", *lang, str(src), "-o", str(obj)], src.name))
        objs.append(obj)
    _compile_all(jobs)
    kernel_objs = [str(o) for o in objs[:len(KERNELS)]]
    ext = d / ("_cuda" + sysconfig.get_config_var("EXT_SUFFIX"))
    checkers = {c.stem: d / c.stem for c in CHECKERS}
    _compile_all([([cxx, *FLAGS, str(c), *kernel_objs, "-o", str(checkers[c.stem])], c.name) for c in CHECKERS]
                 + [([cxx, "-shared", *[str(o) for o in objs], "-o", str(ext)], "the emulated _cuda module")])
    spec = importlib.util.spec_from_file_location("_cuda", ext)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return SimpleNamespace(checkers=checkers, module=module)


@pytest.fixture(scope="session")
def ops(emu):
    """forgenet._cuda_backend's wrapper around the emulated module, with a CuPy stand-in."""
    from forgenet import _cuda_backend

    fake_cupy = SimpleNamespace(float32=np.float32, empty=lambda shape, dtype: alloc(shape),
                                cuda=SimpleNamespace(get_current_stream=lambda: SimpleNamespace(ptr=0)))
    return _cuda_backend._Ops(emu.module, fake_cupy)

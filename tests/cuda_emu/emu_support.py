"""Helpers for the emulated forgenet._cuda tests.

`build_emulated(outdir)` compiles the emulated forgenet._cuda and the checker programs (the `emu`
fixture of tests/cuda_emu/conftest.py wraps it; tests/gpu/conftest.py uses it for the GPU tests' dry
run). `D(a)` presents a numpy array as device memory (the emulated kernels dereference host pointers),
`host(out)` turns an op's result back into numpy, `same` compares with forgenet._C's result.

csrc/cuda/*.cu are compiled by the host compiler against tests/cuda_emu/cuda_emu.h, which runs each
CUDA thread as a fiber with a real barrier for __syncthreads. From those objects come
  * one program per tests/cuda_emu/check_*.cpp, checking kernels against double-precision loops;
  * with csrc/bindings/cuda/*.cpp and a one-device runtime stand-in (runtime_emu.cpp), an emulated
    forgenet._cuda whose ops run end to end on host memory behind __cuda_array_interface__.
"""
import hashlib
import importlib.util
import pathlib
import shutil
import subprocess
import sysconfig
import tempfile
from types import SimpleNamespace

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHECKERS = sorted(HERE.glob("check_*.cpp"))  # one program each, built by build_emulated
KERNELS = sorted(p for p in (REPO / "csrc" / "cuda").glob("*.cu") if p.name != "runtime.cu")
FLAGS = ["-std=c++17", "-O1", "-fPIC", "-Wno-unknown-pragmas", "-Wno-deprecated-declarations", "-DFORGENET_CUDA_EMU",
         "-DFORGENET_CONV_COLUMN_BUDGET=2000",  # small column buffers, so convolutions run in chunks
         f"-I{HERE}", f"-I{REPO / 'csrc'}"]


class EmulatorUnavailable(RuntimeError):
    """No C++ compiler or no pybind11 here: the emulated module cannot be built (a skip, not a failure)."""


def build_emulated(outdir, checkers=True, flags=()):
    """Compiles the emulated forgenet._cuda (and, with `checkers`, one program per check_*.cpp) in
    `outdir`, two compiler jobs at a time. `flags` are appended to FLAGS (a later -O or -D wins).

    Returns SimpleNamespace(checkers={name: executable}, module=the loaded emulated _cuda). Raises
    EmulatorUnavailable without a compiler or pybind11, RuntimeError with the compiler's message when
    a compile fails."""
    ext, programs = _compile(pathlib.Path(outdir), checkers, flags)
    return SimpleNamespace(checkers=programs, module=_load(ext))


def build_emulated_cached(cache_dir, checkers=False, flags=()):
    """build_emulated into cache_dir/<hash of the sources and flags>, reusing an earlier build of the
    same sources (a rebuild of everything takes a minute or two here); a new build removes the older ones
    there. Returns what build_emulated does."""
    h = hashlib.sha256(repr((FLAGS, list(flags), checkers, sysconfig.get_config_var("EXT_SUFFIX"))).encode())
    for f in sorted([*(REPO / "csrc").rglob("*"), *HERE.glob("*.h"), *HERE.glob("*.cpp")]):
        if f.is_file():
            h.update(str(f.relative_to(REPO)).encode() + f.read_bytes())
    cache_dir = pathlib.Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    d = cache_dir / h.hexdigest()[:16]
    ext = d / ("_cuda" + sysconfig.get_config_var("EXT_SUFFIX"))
    programs = {c.stem: d / c.stem for c in CHECKERS} if checkers else {}
    if not ext.exists():
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir))
        try:
            _compile(tmp, checkers, flags)
            try:
                tmp.rename(d)  # whole or not at all
            except OSError:  # a concurrent build of the same sources got there first
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in cache_dir.iterdir():  # builds of older sources
            if old != d and len(old.name) == 16 and not old.name.startswith("build-"):
                shutil.rmtree(old, ignore_errors=True)
    return SimpleNamespace(checkers=programs, module=_load(ext))


def _compile(d, checkers, flags):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        raise EmulatorUnavailable("no C++ compiler")
    try:
        import pybind11
    except ImportError as e:
        raise EmulatorUnavailable("no pybind11") from e
    d.mkdir(parents=True, exist_ok=True)
    cflags = [*FLAGS, *flags]
    py_inc = [f"-I{pybind11.get_include()}", f"-I{sysconfig.get_paths()['include']}"]
    sources = KERNELS + [HERE / "runtime_emu.cpp"] + sorted((REPO / "csrc" / "bindings" / "cuda").glob("*.cpp"))
    objs, jobs = [], []
    for src in sources:
        obj = d / (src.name + ".o")
        lang = ["-x", "c++"] if src.suffix == ".cu" else []
        jobs.append(([cxx, *cflags, *py_inc, "-c", *lang, str(src), "-o", str(obj)], src.name))
        objs.append(obj)
    _compile_all(jobs)
    kernel_objs = [str(o) for o in objs[:len(KERNELS)]]
    ext = d / ("_cuda" + sysconfig.get_config_var("EXT_SUFFIX"))
    programs = {c.stem: d / c.stem for c in CHECKERS} if checkers else {}
    _compile_all([([cxx, *cflags, str(c), *kernel_objs, "-o", str(programs[c.stem])], c.name)
                  for c in CHECKERS if c.stem in programs]
                 + [([cxx, "-shared", *[str(o) for o in objs], "-o", str(ext)], "the emulated _cuda module")])
    return ext, programs


def _load(ext):
    spec = importlib.util.spec_from_file_location("_cuda", ext)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compile_all(jobs):
    """Runs (cmd, what) compile jobs two at a time (the machine is shared)."""
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
    if proc.returncode != 0:
        raise RuntimeError(f"compiling {what} failed:\n{out[-4000:]}")


class HostDeviceArray:
    """A numpy array behind __cuda_array_interface__."""

    def __init__(self, a):
        self.a = np.ascontiguousarray(a)
        self.__cuda_array_interface__ = {"shape": self.a.shape, "typestr": self.a.dtype.str, "strides": None,
                                         "data": (self.a.ctypes.data, False), "version": 3}


D = HostDeviceArray


def alloc(shape):
    return HostDeviceArray(np.full(shape, np.nan, np.float32))  # NaN: anything not written shows


def host(out):
    return tuple(o.a for o in out) if isinstance(out, tuple) else out.a


def same(what, ours, cpu, rtol=1e-5, atol=1e-5):
    ours = ours if isinstance(ours, tuple) else (ours,)
    cpu = cpu if isinstance(cpu, tuple) else (cpu,)
    assert len(ours) == len(cpu), what
    for i, (o, c) in enumerate(zip(ours, cpu)):
        np.testing.assert_allclose(o, c, rtol=rtol, atol=atol, err_msg=f"{what}, output {i}")


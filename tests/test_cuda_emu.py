"""The CUDA kernels' logic, run on the CPU: csrc/cuda/*.cu compiled by the host compiler against
tests/cuda_emu/cuda_emu.h (one fiber per CUDA thread, a real barrier for __syncthreads) and checked
against double-precision loops by tests/cuda_emu/check_kernels.cpp. This needs no GPU and no nvcc, so
it runs everywhere; the real-GPU checks are tests/gpu/test_cuda_ops.py.
"""
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
KERNELS = ["gemm.cu", "softmax.cu", "pooling.cu", "conv2d.cu"]


def test_cuda_kernels_under_cpu_emulation(tmp_path):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    exe = tmp_path / "check_kernels"
    cmd = [cxx, "-std=c++17", "-O1", "-Wno-unknown-pragmas", "-DFORGENET_CUDA_EMU",
           "-DFORGENET_CONV_COLUMN_BUDGET=2000",  # small column buffers, so convolutions run in chunks
           f"-I{REPO / 'tests' / 'cuda_emu'}", f"-I{REPO / 'csrc'}", "-x", "c++",
           *[str(REPO / "csrc" / "cuda" / k) for k in KERNELS], "-x", "none",
           str(REPO / "tests" / "cuda_emu" / "check_kernels.cpp"), "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-4000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert run.stdout.strip().endswith("0 failed"), run.stdout

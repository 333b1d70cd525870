"""tests/gpu, run on the emulator in a subprocess (FORGENET_GPU_EMULATE=1, see tests/gpu/conftest.py).

Without a GPU the GPU tests skip, so nothing would notice a broken one until a GPU runs them, and GPU
time is scarce. This runs them here against the emulated forgenet._cuda and fake CuPy; the few that
are too slow to emulate are skipped by name in tests/gpu/conftest.py.
"""
import os
import subprocess
import sys

import pytest

from emu_support import REPO
from forgenet import _cuda_backend


def test_gpu_tests_pass_on_the_emulator():
    if _cuda_backend.available():
        pytest.skip("a GPU is here: tests/gpu run on it for real")
    pytest.importorskip("pybind11")
    env = {**os.environ, "FORGENET_GPU_EMULATE": "1"}
    cmd = [sys.executable, "-m", "pytest", "tests/gpu", "-m", "gpu", "-q", "-x", "-p", "no:cacheprovider"]
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary

"""Run a snippet of Python in a fresh interpreter with the forgenet under test, under a timeout, so that a
crash, an abort or a hang fails the calling test instead of the test run."""
import os
import pathlib
import subprocess
import sys
import textwrap

import forgenet

# the forgenet this test run imported (the installed package in CI, the tree under PYTHONPATH=python)
FORGENET_PATH = str(pathlib.Path(forgenet.__file__).resolve().parents[1])


def run_py(code: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=FORGENET_PATH, OMP_NUM_THREADS="2")
    e.update(env or {})
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the snippet hung (> {timeout} s):\n{code}\nstderr: {exc.stderr}") from None


def ok(code: str, timeout: float = 60, env: dict | None = None) -> str:
    """Runs code; asserts a clean exit and returns its stdout."""
    p = run_py(code, timeout, env)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr[-4000:]}"
    return p.stdout

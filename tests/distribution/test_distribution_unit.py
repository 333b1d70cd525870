"""The parts of forgenet.distribution that need no MPI: launcher detection, sharding, the bucketed
gradient reduction and metric reduction over a stand-in group of in-process ranks (threads), the
NCCL engine over a stand-in communicator, and the thread share."""
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import forgenet
from forgenet import distribution as dist
from forgenet.distribution import engines, launch
from forgenet.distribution.data_parallel import DataParallel, default_threads


class Group:
    """Ranks as threads: every collective waits for all, then sums in rank order (fixed, like MPI's)."""

    def __init__(self, size):
        self.size, self.barrier, self.slots = size, threading.Barrier(size), [None] * size

    def engine(self, rank):
        group = self

        class E(engines.SingleEngine):
            name = "threads"

            def __init__(self):
                self.rank, self.size = rank, group.size

            def allreduce_(self, buf):
                group.slots[rank] = buf.copy()
                group.barrier.wait()
                total = group.slots[0].copy()
                for s in group.slots[1:]:
                    total += s
                group.barrier.wait()
                buf[...] = total

            def broadcast_(self, buf, root=0):
                if rank == root:
                    group.slots[root] = buf.copy()
                group.barrier.wait()
                buf[...] = group.slots[root]
                group.barrier.wait()

            def allreduce_object_sum(self, values):
                a = np.asarray(values, np.float64)
                self.allreduce_(a)
                return a.tolist()

            def allgather_bytes(self, buf, counts):
                assert buf.dtype == np.uint8 and buf.size == counts[rank]
                group.slots[rank] = buf.copy()
                group.barrier.wait()
                out = np.concatenate(group.slots)
                group.barrier.wait()
                return out

        return E()


def _on_ranks(size, fn, device_group=None):
    group, out, errors = Group(size), [None] * size, []

    def run(r):
        try:
            dp = DataParallel.__new__(DataParallel)
            dp.engine, dp.rank, dp.size = group.engine(r), r, size
            dp.bucket_bytes, dp.comm_seconds = 64, 0.0
            dp._nccl = None if device_group is None else device_group.engine(r)
            out[r] = fn(dp)
        except Exception as e:  # surfaced below
            errors.append(e)
            group.barrier.abort()

    threads = [threading.Thread(target=run, args=(r,)) for r in range(size)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    if errors:
        raise errors[0]
    return out


def test_detect_launchers():
    assert launch.detect({}) == launch.Place()
    p = launch.detect({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
                       "OMPI_COMM_WORLD_LOCAL_SIZE": "2"})
    assert (p.rank, p.size, p.local_rank, p.local_size, p.launcher) == (3, 4, 1, 2, "openmpi")
    assert launch.detect({"PMI_RANK": "1", "PMI_SIZE": "2"}).launcher == "pmi"
    assert launch.detect({"RANK": "0", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4", "LOCAL_RANK": "0"}).local_size == 4
    assert launch.detect({"SLURM_PROCID": "1", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1",
                          "SLURM_NTASKS_PER_NODE": "2(x2)"}).local_size == 2
    with pytest.raises(ValueError, match=r"RANK=5 and \$WORLD_SIZE=2"):
        launch.detect({"RANK": "5", "WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match=r"\$PMI_SIZE must be an integer, got 'x'"):
        launch.detect({"PMI_RANK": "0", "PMI_SIZE": "x"})


def test_local_parts_cover_the_batch_once():
    for size in (1, 2, 3, 5):
        for n in (0, 1, 7, 32, 33):
            parts = _on_ranks(size, lambda dp: dp.local_part(n))
            rows = [i for p in parts for i in range(n)[p]]
            assert rows == list(range(n))


def test_gather_rows_reassembles_uneven_parts_on_every_rank():
    n = 7
    full = {"a": np.arange(n * 3, dtype=np.float32).reshape(n, 3), "b": [np.arange(n, dtype=np.int64)]}

    def fn(dp):
        part = dp.local_part(n)
        mine = {"a": full["a"][part], "b": [full["b"][0][part]]}
        return dp.gather_rows(mine, n)

    for got in _on_ranks(3, fn):
        np.testing.assert_array_equal(got["a"], full["a"])
        assert got["b"][0].dtype == np.int64
        np.testing.assert_array_equal(got["b"][0], full["b"][0])
    with pytest.raises(ValueError, match="one row per sample"):
        _on_ranks(2, lambda dp: dp.gather_rows(np.zeros((5, 2), np.float32), n))


def test_reduce_gradients_is_the_global_mean_with_uneven_shards():
    rng = np.random.default_rng(0)
    counts = [3, 2]
    local = [[rng.standard_normal(s).astype(np.float32) for s in ((4, 5), (7,), (30,))] for _ in counts]
    local[1][1] = None  # a weight without a gradient on... every rank must agree; here only shapes travel
    local[0][1] = None

    def step(dp):
        with dp.local_count(counts[dp.rank]):
            return dp.reduce_gradients(list(local[dp.rank]))

    out = _on_ranks(2, step)
    for i in (0, 2):
        want = (counts[0] * local[0][i].astype(np.float64) + counts[1] * local[1][i]) / sum(counts)
        np.testing.assert_allclose(out[0][i], want, rtol=1e-6)
        np.testing.assert_array_equal(out[0][i], out[1][i])
    assert out[0][1] is None


def test_device_gradients_go_to_the_device_engine(monkeypatch):
    """On the GPU path (fake CuPy here) buffers stay on the device and go through the NCCL-side engine,
    a stand-in communicator; the host (MPI) engine must not see them."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "cuda_emu"))
    import fake_cupy

    cp = fake_cupy.install(monkeypatch)
    rng = np.random.default_rng(1)
    local = [[cp.asarray(rng.standard_normal(s).astype(np.float32)) for s in ((3, 4), (50,))] for _ in range(2)]
    device_group = Group(2)
    host_calls = []

    def step(dp):
        dp.engine.allreduce_ = lambda buf: host_calls.append(buf)
        with dp.local_count(4):
            return dp.reduce_gradients(list(local[dp.rank]))

    out = _on_ranks(2, step, device_group=device_group)
    assert host_calls == []
    for i in range(2):
        assert isinstance(out[0][i], cp.ndarray)
        want = (cp.asnumpy(local[0][i]).astype(np.float64) + cp.asnumpy(local[1][i])) / 2
        np.testing.assert_allclose(cp.asnumpy(out[0][i]), want, rtol=1e-6)


def test_metric_state_sums_over_ranks():
    def step(dp):
        m = forgenet.metrics.Mean()
        m.update_state(np.array([1.0, 2.0]) if dp.rank == 0 else np.array([6.0]))
        dp.reduce_metrics([m])
        return m.result()

    assert _on_ranks(2, step) == [3.0, 3.0]

    class Opaque(forgenet.metrics.Metric):
        def reset_state(self):
            self.best = 0.0

    with pytest.raises(TypeError, match="_state_names"):
        _on_ranks(2, lambda dp: dp.reduce_metrics([Opaque()]))


def test_nccl_engine_over_a_stand_in_communicator():
    """The NCCL path's plumbing (id exchange, pointers, counts, stream) against a fake nccl module."""
    calls = []

    class Comm:
        def __init__(self, size, uid, rank):
            calls.append(("init", size, uid, rank))

        def allReduce(self, send, recv, count, dtype, op, stream):
            calls.append(("allReduce", send == recv, count, dtype, op, stream))

    fake_nccl = type("nccl", (), {"NCCL_FLOAT32": 7, "NCCL_SUM": 0, "NcclCommunicator": Comm,
                                  "get_unique_id": staticmethod(lambda: b"uid")})
    stream = type("S", (), {"ptr": 99, "synchronize": lambda self: None})()

    class Buf:
        __module__ = "cupy"
        size = 5
        data = type("P", (), {"ptr": 1234})()

    Buf.__module__ = "cupy"
    fake_cupy = type("cupy", (), {"cuda": type("cuda", (), {"get_current_stream": staticmethod(lambda: stream)})})
    boot = type("Boot", (), {"rank": 0, "size": 2, "bcast": lambda self, v: v})()
    e = engines.NCCLEngine(boot, nccl=fake_nccl, cupy=fake_cupy)
    e.allreduce_(Buf())
    assert calls == [("init", 2, b"uid", 0), ("allReduce", True, 5, 7, 0, 99)]
    with pytest.raises(TypeError, match="NCCL engine reduces device"):
        e.allreduce_(np.zeros(3, np.float32))


def test_thread_share():
    two_ranks = launch.Place(0, 2, 0, 2, "openmpi")
    assert default_threads(two_ranks, allowed=16, cores=16) == 8
    assert default_threads(two_ranks, allowed=1, cores=16) == 1  # pinned by the launcher: keep its share
    assert default_threads(launch.Place(0, 64, 0, 64, "x"), allowed=16, cores=16) == 1


def test_api_errors():
    with pytest.raises(TypeError, match="set_distribution: expected a DataParallel or None, got str"):
        dist.set_distribution("data")
    with pytest.raises(NotImplementedError, match="device_mesh"):
        dist.DataParallel(device_mesh=object())
    with pytest.raises(ValueError, match="devices lists 2 devices but the job has 1"):
        dist.DataParallel(devices=["cpu:0", "cpu:1"])
    assert dist.list_devices() == ["cpu:0"]


def test_import_needs_no_mpi():
    code = "import sys, forgenet, forgenet.distribution; assert 'mpi4py' not in sys.modules; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "ok", r.stderr

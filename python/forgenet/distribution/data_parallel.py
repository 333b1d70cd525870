"""`DataParallel`: every rank holds the whole model, takes its share of each global batch, and the
ranks sum their gradients before each update, so all of them apply the same step to the same weights
(Keras 3's `keras.distribution.DataParallel`, run here over MPI or NCCL).

What the Trainer asks of it, in this order each step: `local_part(n)` (which rows of the global batch
are mine), `reduce_gradients(grads, n_local)` (inside `Optimizer.apply`, so a custom `train_step`
is covered too), and at log time `reduce_metrics(metrics)`. Gradients travel in buckets of at most
`bucket_bytes`, filled in the fixed order of the model's trainable weights, so the reduction (and
hence the result) is the same run after run.
"""
from __future__ import annotations

import contextvars
import os

import numpy as np

_local_count: contextvars.ContextVar = contextvars.ContextVar("forgenet_dist_local_count", default=None)


class DataParallel:
    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True, bucket_bytes=25 << 20,
                 engine=None):
        from forgenet.distribution import _context

        if device_mesh is not None:
            raise NotImplementedError("forgenet.distribution.DataParallel: device_mesh is not supported "
                                      "(one device per process; pass devices= or nothing)")
        ctx = _context(engine)
        self.engine = ctx.engine
        self.rank, self.size = self.engine.rank, self.engine.size
        self.place = ctx.place
        if devices is not None:
            devices = list(devices)
            if len(devices) != self.size:
                raise ValueError(f"forgenet.distribution.DataParallel: devices lists {len(devices)} devices but the "
                                 f"job has {self.size} processes (one device per process)")
        self.devices = devices
        self.auto_shard_dataset = bool(auto_shard_dataset)
        if not isinstance(bucket_bytes, int) or bucket_bytes < 4:
            raise ValueError(f"DataParallel: bucket_bytes must be an int >= 4, got {bucket_bytes!r}")
        self.bucket_bytes = bucket_bytes
        self.comm_seconds = 0.0  # time spent in gradient reductions (bench reads it)
        self._nccl = None

    def _engine_for(self, buf):
        """Host buffers go over MPI; device (CuPy) buffers over NCCL, set up on first use (one GPU per rank)."""
        if not type(buf).__module__.startswith("cupy"):
            return self.engine
        if self._nccl is None:
            from forgenet.distribution import engines
            import cupy

            if self.devices is None:  # the rank's GPU on its host, unless devices= says otherwise
                cupy.cuda.Device(self.place.local_rank % max(1, cupy.cuda.runtime.getDeviceCount())).use()
            self._nccl = engines.NCCLEngine(self.engine)
        return self._nccl

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    # ---- data ----------------------------------------------------------------------------------
    def local_part(self, n: int) -> slice:
        """My contiguous rows of a global batch of n: the first n % size ranks take one extra row."""
        return _part_of(self.rank, n, self.size)

    def shard(self, batch):
        """(my part of a global batch, my sample count): every array in the (x, y, sample_weight)
        structure cut to the same rows."""
        first = _first_array(batch)
        if first is None:
            return batch, 0
        part = self.local_part(len(first))
        return _slice(batch, part), part.stop - part.start

    def gather_rows(self, out, n: int):
        """The whole global batch's rows of a (structure of) host array(s) of which this rank holds
        local_part(n), on every rank, in row order (predict's outputs: each rank returns all of them)."""
        if self.size == 1:
            return out
        parts = [_part_of(r, n, self.size) for r in range(self.size)]

        def one(a):
            a = np.ascontiguousarray(a)
            row = int(np.prod(a.shape[1:], dtype=np.int64)) * a.itemsize
            counts = [(p.stop - p.start) * row for p in parts]
            if a.shape[0] != parts[self.rank].stop - parts[self.rank].start:
                raise ValueError(f"forgenet.distribution: predict_step returned {a.shape[0]} rows for this rank's "
                                 f"{parts[self.rank].stop - parts[self.rank].start} samples; predictions must have "
                                 "one row per sample to be gathered")
            full = self.engine.allgather_bytes(a.reshape(-1).view(np.uint8), counts)
            return full.view(a.dtype).reshape((n,) + a.shape[1:])

        return _map_arrays(one, out)

    def same_everywhere(self, perm: np.ndarray) -> np.ndarray:
        """Rank 0's copy of an int array (the epoch's shuffle), so every rank slices the same batches."""
        if self.size == 1:
            return perm
        buf = np.ascontiguousarray(perm, dtype=np.int64)
        self.engine.broadcast_(buf, root=0)
        return buf

    def broadcast_weights(self, variables) -> None:
        """Start every rank from rank 0's weights (initialisers may have drawn differently)."""
        if self.size == 1:
            return
        for v in variables:
            buf = v.data if v.data.flags.c_contiguous else _module(v.data).ascontiguousarray(v.data)
            self._engine_for(buf).broadcast_(buf, root=0)
            if buf is not v.data:
                v.data[...] = buf

    # ---- gradients -----------------------------------------------------------------------------
    def local_count(self, n_local: int):
        """Context for one step: this rank's sample count, so uneven shards weigh by their size."""
        return _CountScope(int(n_local))

    def reduce_gradients(self, grads):
        """The global-batch mean of each gradient: sum over ranks of n_r * g_r, over sum of n_r.

        Without a count in scope every rank weighs 1 (equal shards, or a custom loop)."""
        if self.size == 1:
            return grads
        import time

        t0 = time.perf_counter()
        n_local = _local_count.get()
        weight = 1.0 if n_local is None else float(n_local)
        present = [i for i, g in enumerate(grads) if g is not None]
        out = list(grads)
        xp = _module(grads[present[0]]) if present else np
        # buckets in the weights' order; the count rides as one extra float in the last bucket
        buckets, cur, cur_bytes = [], [], 0
        for i in present:
            nbytes = grads[i].size * 4
            if cur and cur_bytes + nbytes > self.bucket_bytes:
                buckets.append(cur)
                cur, cur_bytes = [], 0
            cur.append(i)
            cur_bytes += nbytes
        buckets.append(cur)
        total = None
        for bi, bucket in enumerate(buckets):
            sizes = [grads[i].size for i in bucket]
            last = bi == len(buckets) - 1
            flat = xp.empty(sum(sizes) + (1 if last else 0), np.float32)
            off = 0
            for i, s in zip(bucket, sizes):
                xp.multiply(grads[i].reshape(-1), weight, out=flat[off:off + s])
                off += s
            if last:
                flat[off] = weight
            self._engine_for(flat).allreduce_(flat)
            if last:
                total = float(flat[off])  # on a GPU this read is the step's one sync
            out_parts = []
            off = 0
            for i, s in zip(bucket, sizes):
                out_parts.append((i, flat[off:off + s].reshape(grads[i].shape)))
                off += s
            for i, part in out_parts:
                out[i] = part
        scale = 1.0 / total
        for i in present:
            out[i] *= np.float32(scale)
        self.comm_seconds += time.perf_counter() - t0
        return out

    # ---- metrics -------------------------------------------------------------------------------
    def reduce_metrics(self, metrics) -> None:
        """Sum every metric's additive state over the ranks (in place): results are then global."""
        if self.size == 1:
            return
        metrics = _leaf_metrics(metrics)
        states = [metric_state(m) for m in metrics]
        flat = np.concatenate([np.asarray(s, np.float64).reshape(-1) for _, s in states]) if states else None
        if flat is None or flat.size == 0:
            return
        summed = np.asarray(self.engine.allreduce_object_sum(flat.tolist()), np.float64)
        off = 0
        for m, (names, s) in zip(metrics, states):
            k = np.asarray(s, np.float64).size
            set_metric_state(m, names, summed[off:off + k])
            off += k


    def global_logs(self, metrics) -> dict:
        """{name: result} of the metrics over all ranks, leaving each rank's own running state as it was."""
        if self.size == 1:
            return {m.name: m.result() for m in metrics}
        leaves = _leaf_metrics(metrics)
        saved = [metric_state(m) for m in leaves]
        self.reduce_metrics(leaves)
        logs = {m.name: m.result() for m in metrics}
        for m, (names, s) in zip(leaves, saved):
            set_metric_state(m, names, s)
        return logs

    def agree(self, flag: bool) -> bool:
        """True when any rank says True: for choices that decide whether a collective happens."""
        if self.size == 1:
            return bool(flag)
        return self.engine.allreduce_object_sum([1.0 if flag else 0.0])[0] > 0


class _CountScope:
    def __init__(self, n):
        self.n, self.token = n, None

    def __enter__(self):
        self.token = _local_count.set(self.n)
        return self

    def __exit__(self, *exc):
        _local_count.reset(self.token)


def _leaf_metrics(metrics) -> list:
    """Containers (the compiled metrics, per-output losses) hold the metrics that have state."""
    out = []
    for m in metrics:
        sub = getattr(m, "metrics", None)
        if isinstance(sub, list) and getattr(m, "_state_names", None) is None and not hasattr(m, "total"):
            out += _leaf_metrics(sub)
        else:
            out.append(m)
    return out


def _part_of(rank: int, n: int, size: int) -> slice:
    base, extra = divmod(int(n), size)
    lo = rank * base + min(rank, extra)
    return slice(lo, lo + base + (1 if rank < extra else 0))


def _map_arrays(fn, x):
    if isinstance(x, dict):
        return {k: _map_arrays(fn, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_map_arrays(fn, v) for v in x)
    return fn(x)


def _first_array(x):
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (list, tuple)):
        for t in x:
            a = _first_array(t)
            if a is not None:
                return a
        return None
    return x if hasattr(x, "shape") and getattr(x, "ndim", 0) > 0 else None


def _slice(x, part):
    if isinstance(x, dict):
        return {k: _slice(v, part) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_slice(v, part) for v in x)
    return x[part] if hasattr(x, "shape") and getattr(x, "ndim", 0) > 0 else x


def _module(a):
    if type(a).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


def _state_names(m):
    names = getattr(m, "_state_names", None)
    if names is not None:
        return tuple(names)
    if hasattr(m, "total") and hasattr(m, "count"):  # Mean and everything built on it
        return ("total", "count")
    raise TypeError(f"forgenet.distribution: metric {getattr(m, 'name', m)!r} ({type(m).__name__}) does not say which "
                    "of its state is additive across ranks; give the class a `_state_names` tuple")


def metric_state(m):
    names = _state_names(m)
    vals = []
    for n in names:
        v = getattr(m, n)
        v = v.get() if hasattr(v, "get") and not isinstance(v, np.ndarray) else v
        vals.append(np.asarray(v, np.float64).reshape(-1))
    return names, (np.concatenate(vals) if vals else np.zeros(0))


def set_metric_state(m, names, flat):
    off = 0
    for n in names:
        old = getattr(m, n)
        host = old.get() if hasattr(old, "get") and not isinstance(old, np.ndarray) else old
        k = int(np.asarray(host).size)
        part = flat[off:off + k]
        off += k
        if isinstance(host, np.ndarray) and host.ndim:
            setattr(m, n, part.reshape(host.shape).astype(host.dtype))
        else:
            setattr(m, n, float(part[0]))


def default_threads(place, allowed=None, cores=None) -> int:
    """Each rank's share of this host's cores, so ranks on one machine do not oversubscribe it.

    A launcher that pinned the rank (mpirun binds to cores by default) already gave it its share:
    then the rank's CPU set is smaller than the machine and is used as it is."""
    cores = cores or os.cpu_count() or 1
    if allowed is None:
        allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    if allowed < cores:
        return max(1, allowed)
    return max(1, cores // max(1, place.local_size))

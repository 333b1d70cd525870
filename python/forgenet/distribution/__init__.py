"""Data-parallel training over MPI (CPU) and NCCL (GPU), in Keras 3's `keras.distribution` shape.

One line in an unchanged training script, launched with `mpirun -n 4 python train.py`:

    forgenet.distribution.set_distribution(forgenet.distribution.DataParallel())

`fit` then gives each rank its share of every global batch (`batch_size` stays the global size, as
in Keras), sums gradients over the ranks before each update, all-reduces the metrics, and only
rank 0 prints and writes checkpoints. mpi4py (and for GPUs CuPy's NCCL) are optional imports.
"""
from __future__ import annotations

import dataclasses

from forgenet.distribution import engines, launch
from forgenet.distribution.data_parallel import DataParallel, default_threads

__all__ = ["DataParallel", "initialize", "set_distribution", "distribution", "list_devices", "rank", "world_size",
           "is_chief"]


@dataclasses.dataclass
class _Ctx:
    place: launch.Place
    engine: object


_ctx: _Ctx | None = None
_current: DataParallel | None = None


def initialize(job_addresses=None, num_processes=None, process_id=None, threads=None, engine=None):
    """Join the job the launcher started (reads OMPI_*, PMI_*, PMIX_*, RANK/WORLD_SIZE, SLURM_*).

    Sets this process's kernel threads to its share of the host's cores unless `threads` is given
    (or forgenet.set_num_threads is called later). Returns (rank, size). Idempotent."""
    global _ctx
    if job_addresses is not None:
        raise NotImplementedError("forgenet.distribution.initialize: job_addresses is not used: the MPI launcher "
                                  "(mpirun / mpiexec / srun) connects the processes")
    if _ctx is not None:
        return _ctx.engine.rank, _ctx.engine.size
    place = launch.detect()
    if num_processes is not None and int(num_processes) != place.size:
        raise ValueError(f"forgenet.distribution.initialize: num_processes={num_processes} but the launcher started "
                         f"{place.size} (launcher: {place.launcher})")
    if process_id is not None and int(process_id) != place.rank:
        raise ValueError(f"forgenet.distribution.initialize: process_id={process_id} but the launcher says rank "
                         f"{place.rank}")
    if engine is None:
        engine = engines.MPIEngine() if place.size > 1 else engines.SingleEngine()
    if engine.size != place.size and place.launcher != "none":
        raise RuntimeError(f"forgenet.distribution.initialize: the launcher ({place.launcher}) says {place.size} "
                           f"processes but the {engine.name} engine sees {engine.size}")
    if place.launcher == "none" and engine.size > 1:
        place = launch.Place(engine.rank, engine.size, engine.rank, engine.size, engine.name)
    engines.install_abort_hook(engine)
    import forgenet

    forgenet.set_num_threads(threads if threads is not None else default_threads(place))
    _ctx = _Ctx(place, engine)
    return engine.rank, engine.size


def _context(engine=None) -> _Ctx:
    if _ctx is None:
        initialize(engine=engine)
    elif engine is not None and engine is not _ctx.engine:
        raise RuntimeError("forgenet.distribution: initialize() already chose an engine; a second one cannot join")
    return _ctx


def set_distribution(value) -> None:
    """Make `value` (a DataParallel, or None to stop) the distribution that fit/evaluate/predict use."""
    global _current
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"forgenet.distribution.set_distribution: expected a DataParallel or None, got "
                        f"{type(value).__name__}")
    _current = value


def distribution():
    """The distribution set with set_distribution, or None."""
    return _current


def list_devices(device_type=None) -> list:
    device_type = (device_type or "cpu").lower()
    if device_type == "cpu":
        return ["cpu:0"]
    if device_type == "gpu":
        try:
            import cupy

            return [f"gpu:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]
        except Exception:
            return []
    raise ValueError(f"forgenet.distribution.list_devices: device_type must be 'cpu' or 'gpu', got {device_type!r}")


def rank() -> int:
    return _context().engine.rank


def world_size() -> int:
    return _context().engine.size


def is_chief() -> bool:
    """True on the rank that prints and writes files (rank 0), and when not distributed."""
    return _current is None or _current.is_chief


def _reset_for_tests() -> None:
    global _ctx, _current
    _ctx, _current = None, None

"""The examples' --distributed flag: data-parallel over the ranks of `mpirun -n N python -m ...`."""
from __future__ import annotations

import builtins

import forgenet


def add_flag(ap) -> None:
    ap.add_argument("--distributed", action="store_true",
                    help="data-parallel over the MPI ranks this was launched on (mpirun -n N python -m ...); "
                         "--batch-size stays the global batch")


def setup(args) -> None:
    if getattr(args, "distributed", False):
        forgenet.distribution.set_distribution(forgenet.distribution.DataParallel())


def say(*a, **kw) -> None:
    """print, on rank 0 only (every rank computes the same figures)."""
    if forgenet.distribution.is_chief():
        builtins.print(*a, **kw)

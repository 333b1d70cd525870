"""Who am I in the job: rank, world size and the ranks on this host, read from the launcher's
environment (mpirun / mpiexec of Open MPI, MPICH / Intel MPI / Hydra (PMI), Slurm, torchrun)."""
from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Place:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    launcher: str = "none"


# (launcher, rank, size, local rank, local size): the first whose rank and size are both set wins
_SCHEMES = (
    ("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
    ("pmix", "PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK", "PMIX_LOCAL_SIZE"),
    ("torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"),
    ("slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"),
)


def _int(env, key, who):
    raw = env.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw.split("(")[0])  # Slurm writes e.g. "2(x3)" for tasks per node
    except ValueError:
        raise ValueError(f"forgenet.distribution.initialize: ${key} must be an integer, got {raw!r} "
                         f"(from the {who} launcher)") from None


def detect(env=None) -> Place:
    env = os.environ if env is None else env
    for who, rk, sk, lrk, lsk in _SCHEMES:
        rank, size = _int(env, rk, who), _int(env, sk, who)
        if rank is None or size is None:
            continue
        if size < 1 or not 0 <= rank < size:
            raise ValueError(f"forgenet.distribution.initialize: ${rk}={rank} and ${sk}={size} from the {who} "
                             "launcher are inconsistent (need 0 <= rank < size)")
        local_rank = _int(env, lrk, who)
        local_size = _int(env, lsk, who)
        if local_rank is None or local_size is None:  # assume one host
            local_rank, local_size = rank, size
        return Place(rank, size, local_rank, max(1, local_size), who)
    return Place()

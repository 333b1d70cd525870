"""The transports data-parallel training runs on: proven engines, not our own.

* MPI through mpi4py for host (numpy) buffers: MPI_Allreduce / MPI_Bcast, any MPI (Open MPI, MPICH).
* NCCL through cupy.cuda.nccl for device (CuPy) buffers, on CuPy's current stream; MPI only exchanges
  the NCCL unique id.
* A one-rank engine when nothing launched us, so the same code runs unchanged in one process.
Every engine sums float32 buffers in place; the order of the ranks' contributions is fixed by the
library's algorithm for a given job size, so the same job gives the same bits run after run.
"""
from __future__ import annotations

import sys
import traceback

import numpy as np


class SingleEngine:
    name = "single"
    rank, size = 0, 1

    def allreduce_(self, buf) -> None:
        pass

    def broadcast_(self, buf, root=0) -> None:
        pass

    def allreduce_object_sum(self, values):
        return list(values)

    def allgather_bytes(self, buf, counts):
        return buf

    def barrier(self) -> None:
        pass

    def abort(self, code=1) -> None:
        raise SystemExit(code)


class MPIEngine:
    name = "mpi"

    def __init__(self, comm=None):
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ImportError("forgenet.distribution: this job was started by an MPI launcher but mpi4py is not "
                              "installed (pip install forgenet[mpi])") from e
        self.MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()

    def allreduce_(self, buf) -> None:
        if type(buf).__module__.startswith("cupy"):
            raise TypeError("forgenet.distribution: the MPI engine reduces host arrays; device arrays go through "
                            "NCCL (DataParallel on a model moved to('cuda'))")
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)

    def broadcast_(self, buf, root=0) -> None:
        self.comm.Bcast(buf, root=root)

    def allreduce_object_sum(self, values):
        buf = np.asarray(values, np.float64).copy()
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf.tolist()

    def allgather_bytes(self, buf, counts):
        """Every rank's uint8 buffer, concatenated in rank order; counts[r] bytes come from rank r."""
        out = np.empty(int(sum(counts)), np.uint8)
        displs = np.concatenate([[0], np.cumsum(counts[:-1])]).astype(np.int64)
        self.comm.Allgatherv(buf, [out, (list(map(int, counts)), list(map(int, displs))), self.MPI.BYTE])
        return out

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code=1) -> None:
        self.comm.Abort(code)


class NCCLEngine:
    """One GPU per rank. `bootstrap` (an MPIEngine, or anything with rank/size/bcast_bytes) carries the id."""

    name = "nccl"

    def __init__(self, bootstrap, nccl=None, cupy=None):
        if cupy is None:
            import cupy
        if nccl is None:
            from cupy.cuda import nccl
        self.cupy, self.nccl, self.bootstrap = cupy, nccl, bootstrap
        self.rank, self.size = bootstrap.rank, bootstrap.size
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = bootstrap.comm.bcast(uid, root=0) if hasattr(bootstrap, "comm") else bootstrap.bcast(uid)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)

    def _stream(self):
        return self.cupy.cuda.get_current_stream().ptr

    def allreduce_(self, buf) -> None:
        if not type(buf).__module__.startswith("cupy"):
            raise TypeError("forgenet.distribution: the NCCL engine reduces device (CuPy) arrays, got a host array")
        n = int(buf.size)
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, n, self.nccl.NCCL_FLOAT32, self.nccl.NCCL_SUM,
                            self._stream())

    def broadcast_(self, buf, root=0) -> None:
        self.comm.bcast(buf.data.ptr, int(buf.size), self.nccl.NCCL_FLOAT32, root, self._stream())

    def allreduce_object_sum(self, values):
        return self.bootstrap.allreduce_object_sum(values)

    def allgather_bytes(self, buf, counts):  # predictions come back to the host anyway
        return self.bootstrap.allgather_bytes(buf, counts)

    def barrier(self) -> None:
        self.cupy.cuda.get_current_stream().synchronize()
        self.bootstrap.barrier()

    def abort(self, code=1) -> None:
        self.bootstrap.abort(code)


def install_abort_hook(engine) -> None:
    """A rank that raises must stop the job, not leave the others waiting in a collective forever."""
    if engine.size == 1:
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        sys.stderr.write(f"forgenet.distribution: rank {engine.rank} of {engine.size} failed; aborting the job\n")
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        try:
            engine.abort(1)
        finally:
            previous(kind, value, tb)

    sys.excepthook = hook

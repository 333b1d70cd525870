"""SGEMM: forgenet.kernels.gemm against numpy's matmul (OpenBLAS), both on 2 threads.

Run it with OpenBLAS's tuning overrides unset, so the peer uses its own best kernel for this CPU
(on the Zen4 dev box threadpoolctl then reports architecture 'SkylakeX', the AVX-512 kernel):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m pytest bench/bench_gemm.py --benchmark-group-by=group
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_gemm.py      # GFLOP/s table with ratios

The script's table is timed by forgenet.bench's timing core (the median of 5 samples, the two sides
in turns), as `python -m forgenet.bench gemm` is; the pytest form uses pytest-benchmark.
On a shared, busy machine add `--benchmark-timer time.process_time` (or `--cpu` to the script, and
`--threads 1` to compare single cores): CPU time per thread is far steadier than wall time when other
processes steal the cores.
Shapes: squares, plus the products a small CNN (conv 3x3x32, conv 3x3x64, Dense 1600->64, batch 32)
runs forward and backward through im2col, where most of its time goes.
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "2")  # in case threadpoolctl is missing and numpy not yet loaded

import numpy as np  # noqa: E402

import forgenet  # noqa: E402
from forgenet import kernels  # noqa: E402
from forgenet.bench import machine, timing  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = threadpool_limits = None

THREADS = 2

# (M, N, K, trans_a, trans_b, what)
SHAPES = [
    (256, 256, 256, False, False, "square"),
    (512, 512, 512, False, False, "square"),
    (1024, 1024, 1024, False, False, "square"),
    (21632, 32, 9, False, False, "conv1 fwd: im2col(32x26x26, 3x3x1) @ W"),
    (9, 32, 21632, True, False, "conv1 dW: cols^T @ dY"),
    (3872, 64, 288, False, False, "conv2 fwd: im2col(32x11x11, 3x3x32) @ W"),
    (288, 64, 3872, True, False, "conv2 dW: cols^T @ dY"),
    (3872, 288, 64, False, True, "conv2 dcols: dY @ W^T"),
    (21632, 9, 32, False, True, "conv1 dcols: dY @ W^T"),
    (32, 64, 1600, False, False, "dense fwd: x @ W"),
    (1600, 64, 32, True, False, "dense dW: x^T @ dY"),
    (32, 1600, 64, False, True, "dense dx: dY @ W^T"),
    (32, 128, 512, False, False, "LSTM step: h @ U"),
    (32, 512, 128, False, False, "skinny"),
    (32, 1600, 64, False, False, "skinny"),
    (1280, 64, 512, False, False, "im2col"),
    (3136, 576, 64, False, False, "im2col"),
]
IMPLS = ["forgenet", "numpy", "torch"]


def operands(m, n, k, ta, tb, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def runner(impl, m, n, k, ta, tb, raw=False):
    """One product on one implementation, each writing into a preallocated result (out=)."""
    a, b = operands(m, n, k, ta, tb)
    out = np.empty((m, n), np.float32)
    if impl == "forgenet":
        gemm = forgenet._C.gemm if raw else kernels.gemm  # raw: without the Python wrapper's checks
        return lambda: gemm(a, b, trans_a=ta, trans_b=tb, out=out)
    A, B = (a.T if ta else a), (b.T if tb else b)  # numpy sees the transposes as strided views
    if impl == "torch":
        import torch

        At, Bt, ot = torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(np.ascontiguousarray(b)), torch.from_numpy(out)
        At, Bt = (At.T if ta else At), (Bt.T if tb else Bt)
        return lambda: torch.mm(At, Bt, out=ot)
    return lambda: np.matmul(A, B, out=out)


def _limits():
    forgenet.set_num_threads(THREADS)
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:  # pragma: no cover
        pass
    return threadpool_limits(THREADS) if threadpool_limits else _Null()


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _id(s):
    return f"{s[0]}x{s[1]}x{s[2]}{'_tA' if s[3] else ''}{'_tB' if s[4] else ''}"


try:
    import pytest

    @pytest.mark.parametrize("impl", ["forgenet", "numpy"])
    @pytest.mark.parametrize("shape", SHAPES, ids=[_id(s) for s in SHAPES])
    def test_gemm(benchmark, shape, impl):
        m, n, k, ta, tb, what = shape
        fn = runner(impl, m, n, k, ta, tb)
        benchmark.group = f"gemm {_id(shape)} ({what})"
        benchmark.extra_info.update(flops=2 * m * n * k, threads=THREADS)
        with _limits():
            fn()
            benchmark(fn)
except ImportError:  # pragma: no cover
    pass


def _gflops(fns, flops, timer, per_thread, reps=5, stat="median"):
    """GFLOP/s of each runner from forgenet.bench's timing core (samples taken in turns)."""
    times = timing.alternate(fns, reps=reps, warmup=1, min_sample_s=0.05, timer=timer)
    return {k: flops / (getattr(t, stat) / (THREADS if per_thread else 1)) / 1e9 for k, t in times.items()}


def main(argv):
    global THREADS
    cpu = "--cpu" in argv
    if "--threads" in argv:
        THREADS = int(argv[argv.index("--threads") + 1])
    # one thread: the calling thread's own clock (process time would count idle pool threads spinning)
    timer = (time.thread_time if THREADS == 1 else time.process_time) if cpu else time.perf_counter
    cpu = cpu and THREADS > 1
    with _limits():
        if threadpool_info:
            blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
            print("numpy BLAS:", ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                                            f"threads={i['num_threads']}" for i in blas))
        info = machine.cpu_info(THREADS)
        print(f"forgenet kernel: {forgenet._C.gemm_kernel()}, threads={forgenet.get_num_threads()}, ISA {info['isa']} "
              f"(FORGENET_ISA={info['forgenet_isa_env'] or 'unset'}), {info['cpu']}, "
              f"timer={'process CPU time / threads' if cpu else 'wall'}")
        reps = int(argv[argv.index("--reps") + 1]) if "--reps" in argv else 5
        stat = "min" if "--min" in argv else "median"
        raw = "--raw" in argv
        peers = [i for i in IMPLS[1:] if i != "torch" or _has_torch()]
        print(f"{stat} of {reps} interleaved samples; forgenet {'_C.gemm (raw)' if raw else 'kernels.gemm'}; "
              f"load {os.getloadavg()[0]:.2f}")
        print(f"{'shape':>22} {'forgenet':>9}" + "".join(f" {p:>9}" for p in peers) + "  vs best  GFLOP/s")
        for s in SHAPES:
            m, n, k, ta, tb, what = s
            g = _gflops({impl: runner(impl, m, n, k, ta, tb, raw) for impl in ["forgenet"] + peers},
                        2 * m * n * k, timer, cpu, reps, stat)
            best = max(g[p] for p in peers)
            print(f"{_id(s):>22} {g['forgenet']:9.1f}" + "".join(f" {g[p]:9.1f}" for p in peers)
                  + f"  {g['forgenet'] / best:6.2f}  {what}", flush=True)


def _has_torch():
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


if __name__ == "__main__":
    main(sys.argv[1:])

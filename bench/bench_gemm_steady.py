"""2-thread SGEMM in steady state: each library alone in its own process, calls back to back.

forgenet.bench alternates runners in one process with a 0.25 s pause before each sample, so that the
peers' spinning threads go idle; its short 2-thread samples then start right after the pool's workers
woke. This script measures a training loop's case instead: 50 warm-up calls, then 40 samples of
>= 10 ms of back-to-back calls (forgenet.bench.timing.measure), one library per process. Run it per
library, several times alternated, with the peers' thread counts set:

    for i in 1 2 3; do for w in forgenet numpy torch; do
        OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 python bench/bench_gemm_steady.py $w; done; done

Prints the median and best GFLOP/s per shape.
"""
import sys

import numpy as np

from forgenet.bench import timing

SHAPES = ((1280, 512, 64), (3136, 64, 576))  # M x N x K: the 2-thread rows behind the peers in forgenet.bench


def runner(which):
    if which == "torch":
        import torch
        torch.set_num_threads(2)
        return (lambda a, b, c: torch.mm(a, b, out=c)), torch.from_numpy
    if which == "numpy":
        return (lambda a, b, c: np.matmul(a, b, out=c)), (lambda x: x)
    if which == "forgenet":
        import forgenet
        import forgenet.kernels as K
        forgenet.set_num_threads(2)
        return (lambda a, b, c: K.gemm(a, b, out=c)), (lambda x: x)
    sys.exit(f"bench_gemm_steady: which must be forgenet, numpy or torch, got {which!r}")


def main(which):
    mm, conv = runner(which)
    rng = np.random.default_rng(0)
    res = []
    for m, n, k in SHAPES:
        a = conv(rng.standard_normal((m, k)).astype(np.float32))
        b = conv(rng.standard_normal((k, n)).astype(np.float32))
        c = conv(np.empty((m, n), np.float32))
        t = timing.measure(lambda: mm(a, b, c), reps=40, warmup=50, min_sample_s=0.01)
        gflop = 2 * m * n * k / 1e9
        res.append(f"{m}x{n}x{k}: median {gflop / t.median:.1f} best {gflop / t.min:.1f} GFLOP/s")
    print(which, " | ".join(res))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "forgenet")

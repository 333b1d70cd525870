"""The timing core every forgenet benchmark shares (the CLI and the repo's bench/ scripts).

time.perf_counter around whole calls, several calls per sample when one call is shorter than
`min_sample_s` (so timer resolution and call overhead stay small), `reps` samples, reported as the
median and the interquartile spread. `alternate` takes the samples of several implementations in
turns, so that load drifting on a shared machine hits all of them alike.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Timing:
    """Seconds per call, one entry per sample."""

    samples: list = field(default_factory=list)
    number: int = 1  # calls per sample

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def quantile(self, q: float) -> float:
        s = sorted(self.samples)
        pos = q * (len(s) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    @property
    def spread(self) -> float:
        """Interquartile range over the median (0 with fewer than two samples)."""
        if len(self.samples) < 2 or self.median == 0:
            return 0.0
        return (self.quantile(0.75) - self.quantile(0.25)) / self.median


def calls_per_sample(fn, min_sample_s: float, timer=time.perf_counter) -> int:
    """How many calls make a sample last at least min_sample_s (1 when one call already does)."""
    if min_sample_s <= 0:
        return 1
    t0 = timer()
    fn()
    one = timer() - t0
    return 1 if one >= min_sample_s else min(10_000, math.ceil(min_sample_s / max(one, 1e-9)))


def measure(fn, *, reps: int = 5, warmup: int = 1, min_sample_s: float = 0.0, timer=time.perf_counter) -> Timing:
    """Time fn() (which must finish its work before returning: synchronise devices inside it)."""
    return alternate({"fn": fn}, reps=reps, warmup=warmup, min_sample_s=min_sample_s, timer=timer)["fn"]


# Pause before each sample when runners alternate. The thread pools of the peers keep spinning after
# their work returns (OpenBLAS ~2^28 cycles, libgomp's spin count, XLA's pool), and on a 2-core machine
# the next runner's threads then share the cores with them: measured here, forgenet's 2-thread SGEMM
# 1024^3 right after numpy's and torch's took 31.9 ms, alone 14.1 ms. The pause lets them go idle;
# untimed calls after it, for WAKE_S or one call, put the runner back in its steady state (threads
# awake, caches warm). One call is not always enough: a pool whose caller does not wait for a worker
# that wakes late (forgenet's) ran 1280x512x64 at 2 threads 0.6x its steady speed over the first
# 20 ms after the pause (woken workers on this VM came milliseconds late).
SETTLE_S = 0.25
WAKE_S = 0.005


def alternate(fns: dict, *, reps: int = 5, warmup: int = 1, min_sample_s: float = 0.0,
              timer=time.perf_counter, settle_s: float | None = None) -> dict:
    """{name: Timing} for each fn, the samples taken round-robin (fn1, fn2, ..., fn1, fn2, ...), each
    after a pause of settle_s (default SETTLE_S when there are several fns, else none)."""
    if settle_s is None:
        settle_s = SETTLE_S if len(fns) > 1 else 0.0
    if reps < 1:
        raise ValueError(f"forgenet.bench: reps must be >= 1, got {reps}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    numbers = {k: calls_per_sample(fn, min_sample_s, timer) for k, fn in fns.items()}
    out = {k: Timing(number=numbers[k]) for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            n = numbers[k]
            if settle_s:
                time.sleep(settle_s)
                t_wake = timer()
                fn()  # untimed: wakes this runner's own threads, warms its caches
                while timer() - t_wake < WAKE_S:
                    fn()
            t0 = timer()
            for _ in range(n):
                fn()
            out[k].samples.append((timer() - t0) / n)
    return out


def measure_cuda(fn, *, reps: int = 5, warmup: int = 1) -> Timing:
    """GPU time per call from cupyx.profiler.benchmark (CUDA events around each call)."""
    from cupyx.profiler import benchmark

    res = benchmark(fn, n_repeat=reps, n_warmup=warmup)
    return Timing(samples=[float(t) for t in res.gpu_times[0]])  # (devices, reps): the current device


def paired(base: Timing, other: Timing) -> tuple[float, float]:
    """(median of other/base, median of other - base in seconds per call) over the reps `alternate`
    took, each rep's two samples taken back to back, so load that drifts between reps cancels."""
    pairs = list(zip(base.samples, other.samples))
    if not pairs:
        raise ValueError("forgenet.bench.timing.paired: no samples to pair")
    return statistics.median(o / b for b, o in pairs), statistics.median(o - b for b, o in pairs)

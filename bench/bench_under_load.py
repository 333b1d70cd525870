"""Robustness under load: how much forgenet's kernels slow down when another process keeps one core
busy, beside how much torch's do, on the same shapes in the same run (issue 13, item 6).

    python bench/bench_under_load.py [--threads 2] [--reps 7]

For each case: the median time quiet, then with a competing busy-loop process (one Python process
spinning, not pinned: the scheduler places it), each side's slowdown = loaded / quiet, and the
ratio of the two slowdowns (> 1: forgenet suffers more than torch). Run it on an otherwise quiet
machine; the competitor is the only load it should see.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import forgenet
from forgenet.bench import cases, timing


def _cases():
    out = []
    out += cases.gemm_cases([(1024, 1024, 1024), (3136, 64, 576)], ["torch"])
    out += cases.conv_cases([("conv2", 13, 13, 32, 64, 3, 1)], 128, "valid", "fwd+bwd", ["torch"])
    out += cases.conv_cases([("res3", 28, 28, 128, 128, 3, 1)], 8, "same", "fwd", ["torch"])
    out += cases.attention_cases([1024], 4, 8, 64, False, "fwd", ["torch"])
    return out


def _time_all(built, reps):
    return {key: timing.alternate(fns, reps=reps, warmup=1, min_sample_s=0.05) for key, fns in built.items()}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args(argv)
    forgenet.set_num_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    built = {}
    for c in _cases():
        built[f"{c.bench} {c.case}"] = {impl: make() for impl, make in c.runners.items() if impl in ("forgenet", "torch")}
    quiet = _time_all(built, args.reps)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)
    try:
        loaded = _time_all(built, args.reps)
    finally:
        spinner.kill()
        spinner.wait()
    print(f"forgenet {forgenet.__version__}, isa {forgenet._C.isa()}, {args.threads} threads, cpus {os.cpu_count()}; "
          f"one competing busy process")
    print(f"{'case':44s} {'forgenet quiet':>14s} {'loaded':>9s} {'slowdown':>8s} | {'torch quiet':>11s} "
          f"{'loaded':>9s} {'slowdown':>8s} | ours/torch slowdown")
    for key in built:
        q, lo = quiet[key], loaded[key]
        sf, st = lo["forgenet"].median / q["forgenet"].median, lo["torch"].median / q["torch"].median
        print(f"{key:44s} {q['forgenet'].median * 1e3:11.2f} ms {lo['forgenet'].median * 1e3:6.2f} ms {sf:7.2f}x | "
              f"{q['torch'].median * 1e3:8.2f} ms {lo['torch'].median * 1e3:6.2f} ms {st:7.2f}x | {sf / st:.2f}")


if __name__ == "__main__":
    main()

"""What the torch adapter costs on top of the kernel, and our SDPA drop-in against torch's CPU SDPA.

    python bench/bench_adapters.py [--reps 15] [--threads 2] [--json out.json]

Each pair (forgenet.kernels called directly on numpy arrays vs forgenet.torch on torch tensors;
forgenet.torch.scaled_dot_product_attention vs torch's) is timed by forgenet.bench's timing core,
the two sides taking samples in turns, at the shapes `python -m forgenet.bench` uses. It prints the
median ratio and, because a busy machine inflates single samples, the ratio of the minima as well.
The adapter's fixed cost per call is also measured on a 1x1 gemm, where the kernel does ~nothing.
"""
import argparse
import json
import sys

import forgenet
from forgenet.bench import cases, machine, timing


def _pairs(peer):
    """(label, case) pairs for the bench shapes whose runners include `peer`."""
    out = []
    for c in cases.gemm_cases([(256, 256, 256), (1024, 1024, 1024)], [peer]):
        out.append(c)
    for mode in ("fwd", "fwd+bwd"):
        out += cases.conv_cases(cases.PRESETS["mnist"], 32, "valid", mode, [peer])
        out += cases.lstm_cases(32, 40, 64, 128, mode, [peer])
        for causal in (False, True):
            out += cases.attention_cases([256, 1024], 4, 8, 64, causal, mode, [peer])
    return out


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json")
    p.add_argument("--only", choices=["overhead", "sdpa"], default=None)
    args = p.parse_args(argv)
    import torch

    forgenet.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    info = machine.cpu_info(args.threads)
    print(f"{info['cpu']}, {args.threads} threads, ISA {info['isa']}; medians of {args.reps} alternated samples")
    rows = []
    groups = []
    if args.only in (None, "overhead"):
        (fixed,) = cases.gemm_cases([(1, 1, 1)], ["forgenet.torch"])
        groups.append(("adapter fixed cost", [fixed], "forgenet", "forgenet.torch"))
        groups.append(("forgenet.torch vs forgenet.kernels", _pairs("forgenet.torch"), "forgenet", "forgenet.torch"))
    if args.only in (None, "sdpa"):
        sdpa = []
        for mode in ("fwd", "fwd+bwd"):
            for causal in (False, True):
                sdpa += cases.attention_cases([256, 1024], 4, 8, 64, causal, mode, ["torch", "forgenet.torch"])
        groups.append(("forgenet.torch SDPA vs torch SDPA", sdpa, "torch", "forgenet.torch"))
    for title, group, base, other in groups:
        print(f"\n{title}: {other} time / {base} time (median, min)")
        for case in group:
            fns = {base: case.runners[base](), other: case.runners[other]()}
            t = timing.alternate(fns, reps=args.reps, warmup=2, min_sample_s=0.02)
            med, mn = t[other].median / t[base].median, t[other].min / t[base].min
            extra = f"  (+{(t[other].median - t[base].median) * 1e6:.0f} us/call)" if title.startswith("adapter") else ""
            print(f"  {case.bench:<10} {case.case:<34} {med:6.3f}x  {mn:6.3f}x   "
                  f"{base} {t[base].median * 1e3:9.3f} ms  {other} {t[other].median * 1e3:9.3f} ms{extra}")
            rows.append({"group": title, "bench": case.bench, "case": case.case, "base": base, "other": other,
                         "median_ratio": med, "min_ratio": mn, "base_median_s": t[base].median,
                         "other_median_s": t[other].median, "base_min_s": t[base].min, "other_min_s": t[other].min})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "reps": args.reps, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])

"""What the torch adapter costs on top of the kernel, and our SDPA drop-in against torch's CPU SDPA.

    python bench/bench_adapters.py [--reps 15] [--threads 2] [--only overhead|small|sdpa] [--timer wall|thread]
                                   [--json out.json]

Each pair (forgenet.kernels called directly on numpy arrays vs forgenet.torch on torch tensors;
forgenet.torch.scaled_dot_product_attention vs torch's) is timed by forgenet.bench's timing core,
the two sides taking samples in turns. Per pair it prints the median over reps of each rep's ratio
(other / base, the two samples of a rep taken back to back, so load drifting on a shared machine
cancels) and of each rep's difference in microseconds per call: for the adapter, its overhead. The
issue's target is an adapter ratio of at most 1.05 at the bench shapes (`python -m forgenet.bench`'s
defaults); the small shapes show the fixed per-call cost, where the kernel does almost nothing.

What each side times (forgenet.bench.cases): forward, forgenet.kernels.<op> on numpy arrays against
forgenet.torch.<op> on torch.from_numpy views of the same values (nothing requires grad, so no graph and
no torch.no_grad() block on either side). Forward+backward, the kernel's own time is the forward kernel
with training/return_lse as the backward needs, then the backward kernel (conv2d_backward,
lstm_backward, attention_backward) called directly; the adapter's is forgenet.torch.<op> on tensors that
require grad, then torch.autograd.grad(out, inputs, dy), which returns the gradients (nothing is
accumulated into .grad) and so runs the same two kernels plus torch's autograd engine. That engine is a
cost any torch.autograd.Function pays: the "floor" group times one that computes nothing (outputs and
gradients preallocated). Called back to back, the floor's code stays in the caches; after a kernel
that streams megabytes it runs from L3 or memory and costs about three times as much (~65 vs ~200 us
a call on a Zen 3 VM), and so does the adapter's own glue. So each forward+backward row also times
a third runner, forgenet+floor (the kernels, then the floor with the op's tensor inputs and outputs:
torch's cost grows with each), and prints the floor's cost at that shape and the adapter's own share:
adapter - forgenet+floor, in us and as a fraction of the kernels' time.
"""
import argparse
import json
import os
import sys
import time

import forgenet
from forgenet.bench import cases, machine, timing


_BACKWARD = set()  # id() of the forward+backward cases (conv's case names do not say their mode)


def _mode(mode, made):
    if mode == "fwd+bwd":
        _BACKWARD.update(id(c) for c in made)
    return made


def _bench_shapes(peer):
    out = cases.gemm_cases([(256, 256, 256), (1024, 1024, 1024)], [peer])
    for mode in ("fwd", "fwd+bwd"):
        out += _mode(mode, cases.conv_cases(cases.PRESETS["mnist"], 32, "valid", mode, [peer]))
        out += _mode(mode, cases.lstm_cases(32, 40, 64, 128, mode, [peer]))
        for causal in (False, True):
            out += _mode(mode, cases.attention_cases([256, 1024], 4, 8, 64, causal, mode, [peer]))
    return out


def _small_shapes(peer):
    out = cases.gemm_cases([(1, 1, 1), (32, 32, 32), (64, 64, 64)], [peer])
    for mode in ("fwd", "fwd+bwd"):
        out += _mode(mode, cases.conv_cases([("small 3x3", 8, 8, 4, 8, 3, 1)], 2, "valid", mode, [peer]))
        out += _mode(mode, cases.lstm_cases(2, 4, 8, 8, mode, [peer]))
        out += _mode(mode, cases.attention_cases([16, 64], 1, 2, 16, False, mode, [peer]))
    return out


def _nop(n_in: int, backward: bool, n_grad: int | None = None, n_out: int = 1):
    """A torch.autograd.Function on n_in tensor inputs (the first n_grad of them requiring grad: all by
    default) with n_out outputs (the ones after the first marked non-differentiable, as the ops' auxiliary
    outputs are), whose forward returns views of preallocated outputs and whose backward returns
    preallocated gradients, called as the adapter's ops are (forward, or forward + torch.autograd.grad of
    the first output): what torch's Function machinery and engine cost per call, which no adapter
    written in Python can go below."""
    import torch

    n_grad = n_in if n_grad is None else n_grad
    ins = [torch.zeros(4, 4, requires_grad=i < n_grad) for i in range(n_in)]
    outs = [torch.zeros(4, 4) for _ in range(n_out)]
    grads = tuple(torch.zeros(4, 4) if i < n_grad else None for i in range(n_in))
    dy = torch.ones(4, 4)

    class Nop(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            ctx.save_for_backward(*args)
            if n_out == 1:
                return outs[0].view_as(outs[0])
            o = tuple(t.view_as(t) for t in outs)
            ctx.mark_non_differentiable(*o[1:])
            return o

        @staticmethod
        def backward(ctx, *_g):
            ctx.saved_tensors  # noqa: B018 - unpacking is part of the floor
            return grads

    wrt = ins[:n_grad]
    first = (lambda o: o) if n_out == 1 else (lambda o: o[0])
    if backward:
        return lambda: torch.autograd.grad(first(Nop.apply(*ins)), wrt, dy)
    return lambda: Nop.apply(*ins)


def _floor_cases():
    """The floor alone, called back to back (its code and data stay in the caches)."""
    out = []
    for n_in in (2, 3, 6):
        for backward in (False, True):
            runners = {"nothing": lambda: (lambda: None),
                       "torch.autograd.Function": lambda n_in=n_in, b=backward: _nop(n_in, b)}
            out.append(cases.Case("floor", f"{n_in} inputs {'fwd+grad' if backward else 'fwd'}", 0.0, "GFLOP/s",
                                  runners))
    return out


# each bench's forward+backward adapter call as torch's Function machinery sees it (bench.cases): (tensor
# inputs, those differentiated, outputs). conv x, kernel (no bias) -> y; lstm x, h0, c0, kernel,
# recurrent_kernel, bias, of which x, kernel, recurrent_kernel -> y, h_T, c_T, reserve; attention q, k, v
# -> o, lse. torch's per-call cost grows with each input and output, whether or not it needs a gradient.
_SIGNATURE = {"conv2d": (2, 2, 1), "lstm": (6, 3, 4), "attention": (3, 3, 2)}
FLOORED = "forgenet+floor"


def _with_floor(case):
    """forgenet.kernels' forward and backward followed by the floor (_nop) of the op's signature: the least a
    Python adapter can cost at this shape. Called right after the kernels, the floor's code runs with
    caches the kernels' data have just swept, as the adapter's own glue does (back to back, the floor
    costs ~65 us a call here; after a sweep of 8 MB, ~200 us), so adapter - this is the adapter's own share."""
    kernel = case.runners["forgenet"]

    def make():
        n_in, n_grad, n_out = _SIGNATURE[case.bench]
        run, nop = kernel(), _nop(n_in, True, n_grad, n_out)
        return lambda: (run(), nop())
    return make


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-sample-s", type=float, default=0.02)
    p.add_argument("--timer", choices=["wall", "thread"], default="wall",
                   help="thread: the calling thread's CPU time (time.thread_time), blind to other processes "
                        "taking the cores; with --threads 1 it is the whole call's cost")
    p.add_argument("--json")
    p.add_argument("--only", choices=["overhead", "small", "floor", "sdpa"], default=None)
    args = p.parse_args(argv)
    import torch

    forgenet.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    info = machine.cpu_info(args.threads)
    timer = time.thread_time if args.timer == "thread" else time.perf_counter
    print(f"{info['cpu']}, {args.threads} threads, ISA {info['isa']}, {args.timer} time; medians over {args.reps} "
          f"interleaved reps of each rep's ratio and difference; load average {os.getloadavg()[0]:.1f}")
    groups = []
    if args.only in (None, "overhead"):
        groups.append(("forgenet.torch vs forgenet.kernels at the bench shapes", _bench_shapes("forgenet.torch"),
                       "forgenet", "forgenet.torch"))
    if args.only in (None, "small"):
        groups.append(("forgenet.torch vs forgenet.kernels at small shapes (the fixed cost per call)",
                       _small_shapes("forgenet.torch"), "forgenet", "forgenet.torch"))
    if args.only in (None, "floor"):
        groups.append(("torch's own autograd floor: a torch.autograd.Function that computes nothing (+us/call is "
                       "its cost; the base does nothing)", _floor_cases(), "nothing", "torch.autograd.Function"))
    if args.only in (None, "sdpa"):
        sdpa = []
        for mode in ("fwd", "fwd+bwd"):
            for causal in (False, True):
                sdpa += cases.attention_cases([256, 1024], 4, 8, 64, causal, mode, ["torch", "forgenet.torch"])
        groups.append(("forgenet.torch SDPA vs torch SDPA", sdpa, "torch", "forgenet.torch"))
    rows = []
    for title, group, base, other in groups:
        print(f"\n{title}: {other} / {base}")
        print(f"  {'bench':<10} {'case':<34} {'ratio':>7} {'+us/call':>9} {base:>16} {other:>16}")
        for case in group:
            fns = {base: case.runners[base](), other: case.runners[other]()}
            floored = base == "forgenet" and id(case) in _BACKWARD
            if floored:
                fns[FLOORED] = _with_floor(case)()
            t = timing.alternate(fns, reps=args.reps, warmup=2, min_sample_s=args.min_sample_s, timer=timer)
            ratio, diff = timing.paired(t[base], t[other])
            shown = "      -" if base == "nothing" else f"{ratio:6.3f}x"  # a ratio to doing nothing means nothing
            own = ""
            row = {"group": title, "bench": case.bench, "case": case.case, "base": base, "other": other,
                   "median_ratio": ratio, "median_extra_s": diff, "base_median_s": t[base].median,
                   "other_median_s": t[other].median, "base_min_s": t[base].min, "other_min_s": t[other].min,
                   "calls_per_sample": {k: v.number for k, v in t.items()}}
            if floored:
                # the adapter's own share: its time less the kernels' and torch's floor, both measured here
                _, own_s = timing.paired(t[FLOORED], t[other])
                _, floor_s = timing.paired(t[base], t[FLOORED])
                own = f"   floor {floor_s * 1e6:+7.1f} us, own {own_s * 1e6:+7.1f} us = {own_s / t[base].median:+6.1%}"
                row.update(floor_extra_s=floor_s, own_extra_s=own_s, own_fraction=own_s / t[base].median)
            print(f"  {case.bench:<10} {case.case:<34} {shown} {diff * 1e6:+9.1f} "
                  f"{t[base].median * 1e3:13.3f} ms {t[other].median * 1e3:13.3f} ms{own}", flush=True)
            rows.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "reps": args.reps, "timer": args.timer, "load_average": os.getloadavg(),
                       "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])

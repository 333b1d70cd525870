"""What the torch adapter costs on top of the kernel, and our SDPA drop-in against torch's CPU SDPA.

    python bench/bench_adapters.py [--reps 15] [--threads 2] [--only overhead|small|floor|sdpa|fixed|share]
                                   [--timer wall|thread] [--budget-s 12] [--json out.json]

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

Those 2-thread wall-clock tables are what users see, but their run-to-run swings (up to 20 ms on a
130-250 ms kernel on a shared 2-core VM) are larger than the glue. The "fixed" and "share" groups
answer the issue's question instead: at 1 thread (the glue runs on the calling thread, so nothing of
it hides in a pool) and in CPU time (time.process_time, which other processes taking the cores do not
inflate; wall time beside it), many samples of each runner in a shuffled order each rep, and for each
pair the median of the per-rep differences with a 95% bootstrap interval of that median, so a reader
sees whether 5% is inside or outside the noise. All runners of a case read one set of operands (the
adapter's tensors are views of the kernels' arrays: separate copies alone made runners differ by a few
%), and the kernels run twice, as two runners: their difference, "null", is what the method cannot tell
from zero. "fixed" measures the glue where the kernels do almost nothing (its fixed cost, resolved to
about a microsecond); "share" times the bench shapes the same way and prints the adapter's own share
with its interval beside the fixed cost over the kernels' time.
tests/adapters/test_torch_zero_copy.py shows the glue does no work that grows with the data (the
kernels read the caller's tensors and write the gradients it gets back; torch runs no copies or fills
around them), so the fixed cost is all the glue there is at any shape: after a kernel that sweeps the
caches it runs slower (see the floor above), which the at-shape measurement includes.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np

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


# ------------------------------------------------------------------ the precise groups: fixed and share
def _paired_samples(fns: dict, reps: int, min_sample_s: float, seed: int = 0) -> dict:
    """{name: {"cpu": [s/call], "wall": [s/call]}}: reps samples of each runner, the runners taking turns
    in a new random order each rep (so none always follows the same one), each sample timed by both
    clocks. Sample i of every runner comes from the same rep: the pairs the differences are taken over."""
    order = list(fns)
    for fn in fns.values():
        fn(), fn()
    number = {k: timing.calls_per_sample(fn, min_sample_s, time.process_time) for k, fn in fns.items()}
    out = {k: {"cpu": [], "wall": [], "number": number[k]} for k in fns}
    shuffle = random.Random(seed).shuffle
    for _ in range(reps):
        shuffle(order)
        for k in order:
            fn, n = fns[k], number[k]
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                fn()
            w1, c1 = time.perf_counter(), time.process_time()
            out[k]["cpu"].append((c1 - c0) / n)
            out[k]["wall"].append((w1 - w0) / n)
    return out


def _difference(base, other, boot: int = 2000, seed: int = 0) -> dict:
    """The median of the paired differences other - base (seconds per call), a 95% bootstrap interval of
    that median (the pairs resampled) and the differences' interquartile range."""
    d = np.asarray(other) - np.asarray(base)
    meds = np.median(d[np.random.default_rng(seed).integers(0, len(d), (boot, len(d)))], axis=1)
    lo, hi = np.percentile(meds, [2.5, 97.5])
    q1, q3 = np.percentile(d, [25, 75])
    return {"median": float(np.median(d)), "ci95": [float(lo), float(hi)], "iqr": [float(q1), float(q3)]}


def _us(d) -> str:
    return f"{d['median'] * 1e6:+8.1f} [{d['ci95'][0] * 1e6:+7.1f},{d['ci95'][1] * 1e6:+7.1f}]"


def _pct(d, kernel_s) -> str:
    return f"{d['median'] / kernel_s:+6.2%} [{d['ci95'][0] / kernel_s:+6.2%},{d['ci95'][1] / kernel_s:+6.2%}]"


AGAIN = "forgenet again"  # the kernels a second time: the null comparison, what the method cannot resolve


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) * 0.3


def _shared(bench: str, dims: tuple, mode: str) -> dict:
    """The runners of one precise case on one set of operands (the adapter's tensors are torch.from_numpy
    views of the kernels' arrays), so that no runner's data sits in memory that is faster or slower to
    reach than another's: separate copies, as bench.cases makes them, differ by a few % at these shapes,
    more than the glue. Outputs are allocated per call by all of them alike (and land in the same freed
    chunks). Runners: forgenet (forgenet.kernels), AGAIN (the same calls again, a separate function),
    forgenet.torch and, forward+backward, FLOORED."""
    import torch

    import forgenet.torch as ft
    from forgenet import kernels

    bwd = mode == "fwd+bwd"
    if bench == "gemm":
        a, b = _rand(dims[:2], 0), _rand(dims[1:], 1)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        kern, adapter, sig = (lambda: kernels.gemm(a, b)), (lambda: ft.gemm(ta, tb)), None
    elif bench == "conv2d":
        n, h, w, cin, cout, ks = dims
        x, k, dy = _rand((n, h, w, cin), 0), _rand((ks, ks, cin, cout), 1), _rand((n, h - ks + 1, w - ks + 1, cout), 2)
        tx, tk, tdy = (torch.from_numpy(t) for t in (x, k, dy))
        if bwd:
            tx.requires_grad_(), tk.requires_grad_()
            kern = lambda: (kernels.conv2d(x, k), kernels.conv2d_backward(dy, x, k))  # noqa: E731
            adapter = lambda: torch.autograd.grad(ft.conv2d(tx, tk), (tx, tk), tdy)  # noqa: E731
        else:
            kern, adapter = (lambda: kernels.conv2d(x, k)), (lambda: ft.conv2d(tx, tk))
    elif bench == "lstm":
        n, t, d, u = dims
        x, h0, c0 = _rand((n, t, d), 0), np.zeros((n, u), np.float32), np.zeros((n, u), np.float32)
        k, rk, bias, dy = _rand((d, 4 * u), 1), _rand((u, 4 * u), 2), np.zeros(4 * u, np.float32), _rand((n, t, u), 3)
        ts = [torch.from_numpy(a) for a in (x, h0, c0, k, rk, bias)]
        tdy = torch.from_numpy(dy)
        if bwd:
            for i in (0, 3, 4):
                ts[i].requires_grad_()

            def kern():
                _, _, _, reserve = kernels.lstm(x, h0, c0, k, rk, bias, training=True)
                return kernels.lstm_backward(dy, None, None, x, h0, c0, k, rk, bias, reserve)
            adapter = lambda: torch.autograd.grad(ft.lstm(*ts)[0], (ts[0], ts[3], ts[4]), tdy)  # noqa: E731
        else:
            kern, adapter = (lambda: kernels.lstm(x, h0, c0, k, rk, bias)), (lambda: ft.lstm(*ts))
    else:
        b, h, n, d, causal = dims
        q, k, v, do = (_rand((b, h, n, d), s) for s in range(4))
        tq, tk, tv, tdo = (torch.from_numpy(a) for a in (q, k, v, do))
        sdpa = ft.scaled_dot_product_attention
        if bwd:
            for t in (tq, tk, tv):
                t.requires_grad_()

            def kern():
                o, lse = kernels.attention(q, k, v, causal=causal, return_lse=True)
                return kernels.attention_backward(do, q, k, v, o, lse, causal=causal)
            adapter = lambda: torch.autograd.grad(sdpa(tq, tk, tv, is_causal=causal), (tq, tk, tv), tdo)  # noqa: E731
        else:
            kern, adapter = (lambda: kernels.attention(q, k, v, causal=causal)), (lambda: sdpa(tq, tk, tv, is_causal=causal))

    def again():
        return kern()
    fns = {"forgenet": kern, AGAIN: again, "forgenet.torch": adapter}
    if bwd:
        nop = _nop(*_SIGNATURE[bench])
        fns[FLOORED] = lambda: (kern(), nop())
    return fns


def _precise_cases(small: bool) -> list:
    """(bench, case, mode, dims): the bench shapes of _bench_shapes, or the small ones of _small_shapes."""
    out = []
    gemms = [(1, 1, 1), (32, 32, 32), (64, 64, 64)] if small else [(256, 256, 256), (1024, 1024, 1024)]
    out += [("gemm", "x".join(map(str, g)), "fwd", g) for g in gemms]
    for mode in ("fwd", "fwd+bwd"):
        convs = [("small 3x3", 2, 8, 8, 4, 8, 3)] if small else [("conv1 3x3", 32, 28, 28, 1, 32, 3),
                                                                 ("conv2 3x3", 32, 13, 13, 32, 64, 3)]
        out += [("conv2d", f"{c[0]} b{c[1]} {c[2]}x{c[3]}x{c[4]}->{c[5]} {mode}", mode, c[1:]) for c in convs]
        n, t, d, u = (2, 4, 8, 8) if small else (32, 40, 64, 128)
        out.append(("lstm", f"n{n} t{t} d{d} u{u} {mode}", mode, (n, t, d, u)))
        b, h, d, ns = (1, 2, 16, (16, 64)) if small else (4, 8, 64, (256, 1024))
        for causal in ((False,) if small else (False, True)):
            out += [("attention", f"b{b} h{h} n{n} d{d}{' causal' if causal else ''} {mode}", mode, (b, h, n, d, causal))
                    for n in ns]
    return out


def _precise(spec, budget_s: float, min_reps: int, max_reps: int, min_sample_s: float) -> dict:
    """One case's runners (_shared) sampled by _paired_samples, as many reps as budget_s allows (within
    the bounds), and the differences: null (AGAIN - kernels: zero but for what the method cannot resolve),
    total (adapter - kernels) and, forward+backward, floor (kernels+floor - kernels) and own (adapter -
    kernels+floor); forward, own is the total (no Function runs: nothing requires grad)."""
    bench, case, mode, dims = spec
    fns = _shared(bench, dims, mode)
    t0 = time.process_time()
    fns["forgenet"]()
    one = max(time.process_time() - t0, min_sample_s, 1e-6)
    reps = max(min_reps, min(max_reps, int(budget_s / (one * len(fns)))))
    s = _paired_samples(fns, reps, min_sample_s)
    row = {"bench": bench, "case": case, "mode": mode, "reps": reps,
           "calls_per_sample": {k: v["number"] for k, v in s.items()}}
    for clock in ("cpu", "wall"):
        k, a = s["forgenet"][clock], s["forgenet.torch"][clock]
        r = {"kernels_median_s": float(np.median(k)), "adapter_median_s": float(np.median(a)),
             "null": _difference(k, s[AGAIN][clock]), "total": _difference(k, a)}
        if FLOORED in s:
            f = s[FLOORED][clock]
            r["floor"], r["own"] = _difference(k, f), _difference(f, a)
        else:
            r["own"] = r["total"]
        row[clock] = r
    return row


def _precise_groups(args, only: str) -> list:
    """The fixed group (small shapes, in us) and, for share, the bench shapes (as % of the kernels)."""
    forgenet.set_num_threads(1)
    import torch

    torch.set_num_threads(1)
    rows, fixed = [], {}
    head = (f"  {'bench':<10} {'case':<34} {'reps':>4} {'kernels':>10} {'null +us [95% CI]':>26} "
            f"{'total +us [95% CI]':>26} {'floor +us [95% CI]':>26} {'own +us [95% CI]':>26} {'own, wall':>26}")
    print("\nthe adapter's fixed cost at small shapes, 1 thread, CPU time (process_time): adapter - kernels, "
          "medians of paired differences [95% bootstrap CI]; floor: torch's Function machinery; own: the rest")
    print(head)
    for spec in _precise_cases(small=True):
        row = _precise(spec, args.budget_s / 3, args.min_reps, 400, 0.005)
        c, w = row["cpu"], row["wall"]
        floor = _us(c["floor"]) if "floor" in c else f"{'-':>26}"
        print(f"  {spec[0]:<10} {spec[1]:<34} {row['reps']:4d} {c['kernels_median_s'] * 1e3:7.3f} ms {_us(c['null']):>26} "
              f"{_us(c['total']):>26} {floor:>26} {_us(c['own']):>26} {_us(w['own']):>26}", flush=True)
        key = (spec[0], row["mode"])
        fixed[key] = max(fixed.get(key, -1.0), c["own"]["median"])  # the larger of a bench's small shapes
        rows.append(dict(row, group="fixed"))
    if only == "fixed":
        return rows
    print("\nthe adapter at the bench shapes, 1 thread, CPU time (process_time): as % of the kernels' time, "
          "medians of paired differences [95% bootstrap CI]; fixed/kernel: the fixed cost above over this kernel time")
    print(f"  {'bench':<10} {'case':<34} {'reps':>4} {'kernels':>10} {'null [95% CI]':>24} {'total [95% CI]':>24} "
          f"{'floor [95% CI]':>24} {'own [95% CI]':>24} {'own, wall':>24} {'fixed/kernel':>12}")
    for spec in _precise_cases(small=False):
        row = _precise(spec, args.budget_s, args.min_reps, 200, args.min_sample_s)
        c, w = row["cpu"], row["wall"]
        k = c["kernels_median_s"]
        floor = _pct(c["floor"], k) if "floor" in c else f"{'-':>24}"
        projected = fixed.get((spec[0], row["mode"]))
        row["fixed_over_kernel"] = None if projected is None else projected / k
        proj = f"{projected / k:+11.3%}" if projected is not None else f"{'-':>12}"
        print(f"  {spec[0]:<10} {spec[1]:<34} {row['reps']:4d} {k * 1e3:7.3f} ms {_pct(c['null'], k):>24} {_pct(c['total'], k):>24} "
              f"{floor:>24} {_pct(c['own'], k):>24} {_pct(w['own'], w['kernels_median_s']):>24} {proj}", flush=True)
        rows.append(dict(row, group="share"))
    return rows


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-sample-s", type=float, default=0.02)
    p.add_argument("--timer", choices=["wall", "thread"], default="wall",
                   help="thread: the calling thread's CPU time (time.thread_time), blind to other processes "
                        "taking the cores; with --threads 1 it is the whole call's cost")
    p.add_argument("--json")
    p.add_argument("--only", choices=["overhead", "small", "floor", "sdpa", "fixed", "share"], default=None,
                   help="fixed: the 1-thread CPU-time fixed cost at small shapes; share: that, then the bench "
                        "shapes the same way (both always at 1 thread, whatever --threads says)")
    p.add_argument("--budget-s", type=float, default=12.0,
                   help="fixed / share: seconds of samples per bench-shape case (a third of it per small case)")
    p.add_argument("--min-reps", type=int, default=15, help="fixed / share: the fewest paired reps per case")
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
    if args.only in (None, "fixed", "share"):
        rows += _precise_groups(args, args.only or "share")
        forgenet.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "reps": args.reps, "timer": args.timer, "load_average": os.getloadavg(),
                       "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])

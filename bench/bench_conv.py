"""The article's MNIST CNN convolutions and pools at batch 32: forgenet beside torch (CPU), 2 threads each.

    python -m pytest bench/bench_conv.py --benchmark-group-by=param:case   # pytest-benchmark tables
    python bench/bench_conv.py [--threads 1 --cpu-time] [--reps 9] [--stat min] [--only conv2] [--pools]
        # the seed CNN's convs at batch 32/128/256 and ResNet's 3x3 64->64 on 56x56 (batch 8), forward and
        # backward, forgenet beside torch NCHW and channels_last, samples taken in turns (forgenet.bench)

Shapes: 28x28x1 -> conv 3x3x32 (26x26x32) -> maxpool 2 (13x13x32) -> conv 3x3x64 (11x11x64) -> maxpool 2 (5x5x64).
torch runs on its own layouts: NCHW ('torch') and channels_last ('torch_cl'); both are timed because
which is faster depends on the op (on the Xeon tried: channels_last for the pools, where torch's NCHW
max pool forward was ~15x slower, and about equal for the convs), and ratios divide by the faster.
torch's backward ops are called directly (aten.convolution_backward, aten.max_pool2d_with_indices_backward
with the forward's saved indices); forgenet's max-pool backward recomputes the argmax from x, so that
time is inside its figure.
"""
import time

import numpy as np
import pytest

import forgenet
from forgenet import kernels

torch = pytest.importorskip("torch") if __name__ != "__main__" else __import__("torch")

THREADS = 2
BATCH = 32
CONVS = {"conv1": ((BATCH, 28, 28, 1), (3, 3, 1, 32)), "conv2": ((BATCH, 13, 13, 32), (3, 3, 32, 64))}
POOLS = {"pool1": (BATCH, 26, 26, 32), "pool2": (BATCH, 11, 11, 64)}
IMPLS = ["forgenet", "torch", "torch_cl"]


def _conv_case(name, direction, impl):
    """A zero-argument callable running one conv layer's forward or backward on one implementation."""
    xs, ks = CONVS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    k = (rng.standard_normal(ks) * 0.1).astype(np.float32)
    b = np.zeros(ks[3], np.float32)
    y = kernels.conv2d(x, k, b)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    if impl == "forgenet":
        if direction == "forward":
            return lambda: kernels.conv2d(x, k, b)
        return lambda: kernels.conv2d_backward(dy, x, k)
    fmt = torch.channels_last if impl == "torch_cl" else torch.contiguous_format
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    kt = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous(memory_format=fmt)
    bt = torch.from_numpy(b)
    dyt = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    if direction == "forward":
        return lambda: torch.nn.functional.conv2d(xt, kt, bt)
    return lambda: torch.ops.aten.convolution_backward(dyt, xt, kt, [ks[3]], [1, 1], [0, 0], [1, 1], False,
                                                       [0, 0], 1, [True, True, True])


def _pool_case(name, kind, direction, impl):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(POOLS[name]).astype(np.float32)
    fwd, bwd = (kernels.max_pool2d, kernels.max_pool2d_backward) if kind == "max" else (kernels.avg_pool2d, kernels.avg_pool2d_backward)
    dy = rng.standard_normal(fwd(x).shape).astype(np.float32)
    if impl == "forgenet":
        return (lambda: fwd(x)) if direction == "forward" else (lambda: bwd(dy, x))
    fmt = torch.channels_last if impl == "torch_cl" else torch.contiguous_format
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    dyt = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    F = torch.nn.functional
    if kind == "max":
        if direction == "forward":
            return lambda: F.max_pool2d(xt, 2)
        _, idx = F.max_pool2d(xt, 2, return_indices=True)
        return lambda: torch.ops.aten.max_pool2d_with_indices_backward(dyt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)
    if direction == "forward":
        return lambda: F.avg_pool2d(xt, 2)
    return lambda: torch.ops.aten.avg_pool2d_backward(dyt, xt, [2, 2], [2, 2], [0, 0], False, True, None)


CASES = [(f"{n}_{d}", lambda impl, n=n, d=d: _conv_case(n, d, impl)) for n in CONVS for d in ("forward", "backward")]
CASES += [(f"{k}{n}_{d}", lambda impl, n=n, k=k, d=d: _pool_case(n, k, d, impl))
          for n in POOLS for k in ("max", "avg") for d in ("forward", "backward")]


def _threads():
    forgenet.set_num_threads(THREADS)
    torch.set_num_threads(THREADS)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_bench(benchmark, case, impl):
    _threads()
    fn = dict(CASES)[case](impl)
    benchmark.group = case
    benchmark(fn)


def _best_ms(fn, clock=time.perf_counter, budget_s=1.0):
    """Fastest of many runs: on a shared machine the minimum is the figure least bent by other load."""
    fn()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < budget_s or len(times) < 5:
        t = clock()
        fn()
        times.append(clock() - t)
    return 1e3 * min(times)


# Shapes for the CLI table: (name, (N, H, W, Cin), (KH, KW, Cin, Cout), padding, stride, need_dx).
# conv1 is the seed CNN's first layer, so training asks it for no input gradient.
SHAPES = [
    ("conv1 b32", (32, 28, 28, 1), (3, 3, 1, 32), "valid", 1, False),
    ("conv2 b32", (32, 13, 13, 32), (3, 3, 32, 64), "valid", 1, True),
    ("conv1 b128", (128, 28, 28, 1), (3, 3, 1, 32), "valid", 1, False),
    ("conv2 b128", (128, 13, 13, 32), (3, 3, 32, 64), "valid", 1, True),
    ("conv1 b256", (256, 28, 28, 1), (3, 3, 1, 32), "valid", 1, False),
    ("conv2 b256", (256, 13, 13, 32), (3, 3, 32, 64), "valid", 1, True),
    ("res2 3x3 b8 56x56x64->64", (8, 56, 56, 64), (3, 3, 64, 64), "same", 1, True),
]


def _shape_runners(xs, ks, padding, stride, need_dx, direction):
    """{impl: fn} for one conv shape and direction; bias on, as the layers pass it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    k = (rng.standard_normal(ks) * 0.1).astype(np.float32)
    b = (rng.standard_normal(ks[3]) * 0.1).astype(np.float32)
    y = kernels.conv2d(x, k, b, strides=stride, padding=padding)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    yo = np.empty_like(y)
    outs = (np.empty_like(x) if need_dx else None, np.empty_like(k), np.empty_like(b))
    fns = {}
    if direction == "forward":
        fns["forgenet"] = lambda: kernels.conv2d(x, k, b, strides=stride, padding=padding, out=yo)
    else:
        fns["forgenet"] = lambda: kernels.conv2d_backward(dy, x, k, strides=stride, padding=padding,
                                                          need_dx=need_dx, out=outs)
    pad = [0, 0] if padding == "valid" else [(ks[0] - 1) // 2, (ks[1] - 1) // 2]
    for impl, fmt in (("torch", torch.contiguous_format), ("torch_cl", torch.channels_last)):
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
        kt = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous(memory_format=fmt)
        bt = torch.from_numpy(b)
        dyt = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
        if direction == "forward":
            def f(xt=xt, kt=kt, bt=bt):
                with torch.no_grad():
                    return torch.nn.functional.conv2d(xt, kt, bt, stride=stride, padding=pad)
        else:
            def f(xt=xt, kt=kt, dyt=dyt):
                return torch.ops.aten.convolution_backward(dyt, xt, kt, [ks[3]], [stride, stride], pad, [1, 1],
                                                           False, [0, 0], 1, [need_dx, True, True])
        fns[impl] = f
    return fns


if __name__ == "__main__":
    import argparse
    import os

    from forgenet.bench import timing

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--reps", type=int, default=7, help="samples per implementation, taken in turns")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time by the calling thread's CPU clock (with --threads 1 only): immune to other load")
    ap.add_argument("--only", default="", help="substring of the shape names to run")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="figure per implementation: min is the one least bent by other load")
    ap.add_argument("--pools", action="store_true", help="also the seed CNN's pools (batch 32)")
    args = ap.parse_args()
    THREADS = args.threads
    assert not args.cpu_time or THREADS == 1, "--cpu-time counts one thread only"
    clock = time.thread_time if args.cpu_time else time.perf_counter
    _threads()
    print(f"{THREADS} thread(s), {'thread CPU time' if args.cpu_time else 'wall time'}, {args.stat} of {args.reps} "
          f"interleaved samples; isa {forgenet._C.isa()}; load {os.getloadavg()[0]:.2f}")
    print(f"{'case':36s}" + "".join(f"{i:>12s}" for i in IMPLS) + "   forgenet / best torch")
    for name, xs, ks, padding, stride, need_dx in SHAPES:
        if args.only not in name:
            continue
        for direction in ("forward", "backward"):
            fns = _shape_runners(xs, ks, padding, stride, need_dx, direction)
            t = timing.alternate(fns, reps=args.reps, warmup=2, min_sample_s=0.05, timer=clock)
            ms = [1e3 * getattr(t[i], args.stat) for i in IMPLS]
            print(f"{name + ' ' + direction[:3]:36s}" + "".join(f"{m:10.3f}ms" for m in ms)
                  + f"   {ms[0] / min(ms[1:]):.2f}", flush=True)
    if args.pools:
        for case, make in CASES:
            if "pool" in case:
                ms = [_best_ms(make(impl), clock, 1.0) for impl in IMPLS]
                print(f"{case:36s}" + "".join(f"{m:10.3f}ms" for m in ms) + f"   {ms[0] / min(ms[1:]):.2f}")

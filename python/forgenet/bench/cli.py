"""python -m forgenet.bench: time forgenet's kernels (and installed peers) at chosen shapes.

    python -m forgenet.bench gemm 1024 512x256x128
    python -m forgenet.bench gemm 4096 --device cuda        # CuPy arrays (not yet run on a real GPU)
    python -m forgenet.bench attention --n 1024 4096 --causal --mode fwd+bwd
    python -m forgenet.bench conv2d --preset resnet
    python -m forgenet.bench lstm --batch 32 --steps 40
    python -m forgenet.bench cnn-epoch --n 2048        # peers: torch (both layouts) and tf.keras, own processes
Common options (after the subcommand): --reps, --warmup, --threads, --peers numpy,torch,jax,cupy,
forgenet.torch,tf (default: every installed one; tf is cnn-epoch's, from the interpreter in
BENCH_TF_PYTHON) or --no-peers, --json PATH, --csv PATH, --compare PREVIOUS.json [--threshold 0.1],
--plot OUT.png, --clock-mhz. Exit status 1 when --compare finds a forgenet row slower than before by
more than the threshold. cnn-epoch's peers each train in their own process with the tuned malloc
settings (forgenet.bench.peers): torch in both layouts ("torch nchw", "torch nhwc") and tf.keras.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys

import forgenet
from forgenet.bench import cases as C
from forgenet.bench import machine, report, timing


def _size(text: str):
    parts = text.lower().split("x")
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or MxNxK, got {text!r}") from None
    if len(dims) == 1:
        dims *= 3
    if len(dims) != 3 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected N or MxNxK with positive sizes, got {text!r}")
    return tuple(dims)


def _conv_shape(text: str):
    try:
        dims = [int(p) for p in text.split(",")]
    except ValueError:
        dims = []
    if len(dims) not in (5, 6) or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected H,W,Cin,Cout,K[,stride], got {text!r}")
    h, w, cin, cout, k = dims[:5]
    return (f"{k}x{k}/{dims[5] if len(dims) == 6 else 1}", h, w, cin, cout, k, dims[5] if len(dims) == 6 else 1)


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("measurement and output")
    g.add_argument("--reps", type=int, default=5, help="timed samples per implementation (default 5)")
    g.add_argument("--warmup", type=int, default=1, help="untimed calls first (default 1)")
    g.add_argument("--min-sample-s", type=float, default=0.02,
                   help="repeat short calls inside one sample until it lasts this long (default 0.02)")
    g.add_argument("--threads", type=int, default=None, help="threads for forgenet and the peers (default: forgenet's)")
    g.add_argument("--peers", default=",".join(C.PEERS), help=f"comma list from {', '.join(C.PEERS)} (default: all installed)")
    g.add_argument("--no-peers", action="store_true", help="time forgenet only")
    g.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for stdout)")
    g.add_argument("--csv", metavar="PATH", help="write the results as CSV ('-' for stdout)")
    g.add_argument("--compare", metavar="PREVIOUS.json", help="mark rows slower than in a previous --json output")
    g.add_argument("--threshold", type=float, default=0.10, help="slowdown that --compare flags (default 0.10)")
    g.add_argument("--plot", metavar="OUT.png", help="bar chart of %% of peak (needs matplotlib: forgenet[bench])")
    g.add_argument("--clock-mhz", type=float, default=None, help="the clock for the peak, instead of timing it")
    g.add_argument("--quiet", action="store_true", help="no table on stdout")
    return p


def parser() -> argparse.ArgumentParser:
    common = _common()
    p = argparse.ArgumentParser(prog="python -m forgenet.bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="bench", required=True)
    g = sub.add_parser("gemm", parents=[common], help="SGEMM, C = A @ B")
    g.add_argument("sizes", nargs="*", type=_size, default=[(1024, 1024, 1024)], help="N (square) or MxNxK; default 1024")
    g.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: forgenet on CuPy arrays vs CuPy's matmul, timed by cupyx.profiler.benchmark")
    a = sub.add_parser("attention", parents=[common], help="fused softmax attention")
    a.add_argument("--n", nargs="+", type=int, default=[1024], help="sequence lengths (default 1024)")
    a.add_argument("--batch", type=int, default=4)
    a.add_argument("--heads", type=int, default=8)
    a.add_argument("--d", type=int, default=64, help="head dim")
    a.add_argument("--causal", action="store_true")
    a.add_argument("--mode", choices=["fwd", "fwd+bwd"], default="fwd")
    c = sub.add_parser("conv2d", parents=[common], help="2-D convolution, NHWC")
    c.add_argument("--preset", choices=sorted(C.PRESETS), default=None, help="layer shapes (default mnist)")
    c.add_argument("--shape", action="append", type=_conv_shape, default=[], help="H,W,Cin,Cout,K[,stride] (repeatable)")
    c.add_argument("--batch", type=int, default=None, help="default 8 for resnet, 32 otherwise")
    c.add_argument("--padding", choices=["valid", "same"], default=None, help="default same for resnet, valid otherwise")
    c.add_argument("--mode", choices=["fwd", "fwd+bwd"], default="fwd")
    lstm = sub.add_parser("lstm", parents=[common], help="one LSTM layer over a sequence")
    lstm.add_argument("--batch", type=int, default=32)
    lstm.add_argument("--steps", type=int, default=40)
    lstm.add_argument("--input", type=int, default=64)
    lstm.add_argument("--hidden", type=int, default=128)
    lstm.add_argument("--mode", choices=["fwd", "fwd+bwd"], default="fwd")
    e = sub.add_parser("cnn-epoch", parents=[common], help="one training epoch of the article's MNIST CNN")
    e.add_argument("--n", type=int, default=2048, help="training images (bundled sample: up to 6000)")
    e.add_argument("--batch", type=int, default=32)
    return p


def build_cases(args, peers):
    if args.bench == "gemm":
        return C.gemm_cases(args.sizes, peers, args.device)
    if args.bench == "attention":
        return C.attention_cases(args.n, args.batch, args.heads, args.d, args.causal, args.mode, peers)
    if args.bench == "conv2d":
        preset = args.preset or ("mnist" if not args.shape else None)
        layers = (C.PRESETS[preset] if preset else []) + args.shape
        batch = args.batch or (8 if preset == "resnet" else 32)
        padding = args.padding or ("same" if preset == "resnet" else "valid")
        return C.conv_cases(layers, batch, padding, args.mode, peers)
    if args.bench == "lstm":
        return C.lstm_cases(args.batch, args.steps, args.input, args.hidden, args.mode, peers)
    return C.cnn_epoch_cases(args.n, args.batch, peers, args.threads)


@contextlib.contextmanager
def _thread_limits(threads: int, peers):
    forgenet.set_num_threads(threads)
    if "torch" in peers or "forgenet.torch" in peers:
        if C.available("torch"):
            import torch

            torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is None:
        # main() re-ran us with the BLAS variables set when it could; they are read once, at numpy's load
        capped = os.environ.get(_CAPPED_ENV) == str(threads)
        yield f"{threads} ({_BLAS_ENV[0]})" if capped else "not capped (threadpoolctl not installed)"
    else:
        with threadpool_limits(threads):
            yield threads


def run(args, argv) -> tuple[dict, int]:
    if args.reps < 1:
        raise SystemExit("forgenet.bench: --reps must be >= 1")
    peers = [] if args.no_peers else [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in C.PEERS]
    if unknown:
        raise SystemExit(f"forgenet.bench: unknown peers {unknown}; choose from {', '.join(C.PEERS)}")
    threads = args.threads or forgenet.get_num_threads()
    info = machine.cpu_info(threads, args.clock_mhz)
    device = getattr(args, "device", "cpu")
    gpu = machine.gpu_info() if device == "cuda" or "cupy" in peers else None
    if device == "cuda" and gpu is None:
        raise SystemExit("forgenet.bench: --device cuda needs CuPy and a CUDA GPU")
    if gpu:
        info.update(gpu)
    peak = info["gpu_peak_gflops"] if device == "cuda" else info["peak_gflops"]
    rows = []
    with _thread_limits(threads, peers) as numpy_threads:
        info["numpy_threads"] = numpy_threads
        info["peers"] = {p: _version(p) for p in peers if C.available(p)}
        for case in build_cases(args, peers):
            fns = {impl: make() for impl, make in case.runners.items()}
            if device == "cuda":  # CUDA events per call; each runner also synchronises, for the CPU path
                times = {impl: timing.measure_cuda(fn, reps=args.reps, warmup=args.warmup) for impl, fn in fns.items()}
            else:
                times = timing.alternate(fns, reps=args.reps, warmup=args.warmup, min_sample_s=args.min_sample_s)
            rows += [report.row(case, impl, t, peak) for impl, t in times.items()]
            del fns
    report.relate(rows)
    worse = 0
    if args.compare:
        with open(args.compare) as f:
            worse = report.compare(rows, json.load(f), args.threshold)
    return report.document(rows, info, argv), worse


def _version(name: str) -> str:
    import importlib

    if name == "tf":
        from forgenet.bench.peers import tf_version

        return tf_version()
    mod = importlib.import_module("torch" if name == "forgenet.torch" else name)
    return getattr(mod, "__version__", "?")


def _write(path, text):
    if path == "-":
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    else:
        with open(path, "w") as f:
            f.write(text)


# numpy's BLAS reads its thread count from the environment when numpy loads (forgenet has loaded it by
# now), so without threadpoolctl the one way to cap it is a fresh interpreter with these set.
_BLAS_ENV = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
_CAPPED_ENV = "FORGENET_BENCH_BLAS_CAPPED"


def _needs_blas_cap(args) -> bool:
    if not args.threads or args.no_peers or "numpy" not in args.peers.split(",") or os.environ.get(_CAPPED_ENV):
        return False
    try:
        import threadpoolctl  # noqa: F401 - present: _thread_limits caps numpy in this process
    except ImportError:
        return True
    return False


def _rerun_capped(argv, threads: int) -> int:
    env = dict(os.environ, **{name: str(threads) for name in _BLAS_ENV}, **{_CAPPED_ENV: str(threads)})
    return subprocess.run([sys.executable, "-m", "forgenet.bench", *argv], env=env).returncode


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    if _needs_blas_cap(args):
        return _rerun_capped(argv, args.threads)
    doc, worse = run(args, argv)
    if not args.quiet and "-" not in (args.json, args.csv):
        print(report.table(doc))
    if args.json:
        _write(args.json, report.to_json(doc))
    if args.csv:
        _write(args.csv, report.to_csv(doc))
    if args.plot:
        report.plot(doc, args.plot)
    if worse:
        print(f"forgenet.bench: {worse} forgenet row(s) slower than {args.compare} by more than "
              f"{100 * args.threshold:.0f}%", file=sys.stderr)
        return 1
    return 0

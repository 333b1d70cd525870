"""Fused attention vs torch 2.13 CPU scaled_dot_product_attention, 2 threads each.

    python -m pytest bench/bench_attention.py --benchmark-group-by=param:n,param:causal,param:mode -s
    python bench/bench_attention.py [--reps 5]   # the same runners through forgenet.bench's timing core

The runners are forgenet.bench's (`python -m forgenet.bench attention` times the same code);
"forgenet.torch" is our kernel behind the torch adapter's SDPA drop-in (its overhead is the gap to
"forgenet").

B=4, H=8, d=64, N in {256, 1024, 4096}, causal or not, forward or forward+backward. The memory test
runs each implementation's N=4096 forward+backward in a fresh process and prints its peak RSS growth.
"""
import json
import subprocess
import sys

import pytest

import forgenet
from forgenet.bench import cases

torch = pytest.importorskip("torch")
F = torch.nn.functional

B, H, D = 4, 8, 64
THREADS = 2


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(THREADS)
    forgenet.set_num_threads(THREADS)


def _runner(impl, n, causal, mode):
    """The runner `python -m forgenet.bench attention` times for impl (forgenet, torch or forgenet.torch)."""
    (case,) = cases.attention_cases([n], B, H, D, causal, mode, peers=["torch", "forgenet.torch"])
    return case.runners[impl]()


@pytest.mark.parametrize("impl", ["forgenet", "torch", "forgenet.torch"])
@pytest.mark.parametrize("mode", ["fwd", "fwd+bwd"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [256, 1024, 4096])
def test_attention(benchmark, n, causal, mode, impl):
    fn = _runner(impl, n, causal, mode)
    fn()  # warm-up (thread pools, first-touch)
    rounds = 3 if n == 4096 else 10
    benchmark.extra_info.update(B=B, H=H, d=D, threads=THREADS)
    benchmark.pedantic(fn, rounds=rounds, iterations=1)


_MEM = r"""
import json, resource, sys
import numpy as np


def peak_kib(reset=False):
    # VmHWM, reset by clear_refs=5: ru_maxrss is inherited across fork + exec from the big pytest parent
    try:
        if reset:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

impl, causal = sys.argv[1], sys.argv[2] == "1"
n, B, H, D = 4096, 4, 8, 64
rng = np.random.default_rng(0)
q, k, v, do = (rng.standard_normal((B, H, n, D)).astype(np.float32) for _ in range(4))
if impl == "torch":
    import torch
    torch.set_num_threads(2)
    tq, tk, tv = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
    base = peak_kib(reset=True)
    torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal).backward(torch.from_numpy(do))
else:
    import forgenet
    from forgenet import kernels
    forgenet.set_num_threads(2)
    base = peak_kib(reset=True)
    o, lse = kernels.attention(q, k, v, causal=causal, return_lse=True)
    kernels.attention_backward(do, q, k, v, o, lse, causal=causal)
print(json.dumps({"growth_mib": (peak_kib() - base) / 1024}))
"""


def test_peak_memory_growth_n4096():
    # Inputs are 32 MiB each; the full score matrix would be 2 GiB.
    rows = []
    for causal in (False, True):
        for impl in ("forgenet", "torch"):
            out = subprocess.run([sys.executable, "-c", _MEM, impl, str(int(causal))], capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            rows.append((impl, causal, json.loads(out.stdout.strip().splitlines()[-1])["growth_mib"]))
    print("\npeak RSS growth, N=4096 forward+backward (B=4, H=8, d=64):")
    for impl, causal, mib in rows:
        print(f"  {impl:9s} causal={causal!s:5s} {mib:8.1f} MiB")


def main(argv):
    """Every (n, causal, mode) as `python -m forgenet.bench attention ...` runs it, in one table each."""
    from forgenet.bench import cli

    code = 0
    for causal in (False, True):
        for mode in ("fwd", "fwd+bwd"):
            args = ["attention", "--n", "256", "1024", "4096", "--batch", str(B), "--heads", str(H), "--d", str(D),
                    "--mode", mode, "--threads", str(THREADS), "--peers", "torch,forgenet.torch", *argv]
            code |= cli.main(args + (["--causal"] if causal else []))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

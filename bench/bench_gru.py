"""GRU (input 64, hidden 128, batch 32, 40 steps, Keras 3's reset_after layout): forward and
forward+backward, ours (forgenet.kernels.gru) beside torch.nn.GRU(64, 128, batch_first=True) on the same
CPU in the same run, both on 2 threads. Target: ours <= 0.8x torch's time.

    python -m pytest bench/bench_gru.py --benchmark-columns=min,median,mean   # pytest-benchmark
    python bench/bench_gru.py [--reps 15]   # forgenet/torch ratio table, forgenet.bench's timing core
"""
import sys

import numpy as np
import pytest

from forgenet import kernels
from forgenet.bench import versus

N, T, D, U, THREADS = 32, 40, 64, 128, 2


def make_ours(seed=0):
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(U)
    W, R = (rng.uniform(-s, s, shape).astype(np.float32) for shape in ((D, 3 * U), (U, 3 * U)))
    b = rng.uniform(-s, s, (2, 3 * U)).astype(np.float32)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    dy = rng.standard_normal((N, T, U)).astype(np.float32)
    return x, dy, (W, R, b)


def ours_forward(x, w):
    return kernels.gru(x, np.zeros((N, U), np.float32), *w)[0]


def ours_forward_backward(x, dy, w):
    h0 = np.zeros((N, U), np.float32)
    y, h, reserve = kernels.gru(x, h0, *w, training=True)
    return kernels.gru_backward(dy, None, x, h0, *w, reserve)


def make_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.GRU(D, U, batch_first=True)
    return torch, net, torch.randn(N, T, D), torch.randn(N, T, U)


def torch_forward(torch, net, x):
    with torch.no_grad():
        return net(x)[0]


def torch_forward_backward(torch, net, x, dy):
    x = x.detach().requires_grad_(True)  # we compute dx too
    net.zero_grad(set_to_none=True)
    net(x)[0].backward(dy)
    return x.grad


@pytest.fixture(scope="module", autouse=True)
def threads():
    versus.set_threads(THREADS)


@pytest.mark.benchmark(group="gru-forward")
def test_forward_ours(benchmark):
    x, _, w = make_ours()
    benchmark(ours_forward, x, w)


@pytest.mark.benchmark(group="gru-forward")
def test_forward_torch(benchmark):
    torch, net, x, _ = make_torch()
    benchmark(torch_forward, torch, net, x)


@pytest.mark.benchmark(group="gru-forward-backward")
def test_forward_backward_ours(benchmark):
    x, dy, w = make_ours()
    benchmark(ours_forward_backward, x, dy, w)


@pytest.mark.benchmark(group="gru-forward-backward")
def test_forward_backward_torch(benchmark):
    torch, net, x, dy = make_torch()
    benchmark(torch_forward_backward, torch, net, x, dy)


def tables():
    import torch

    x, dy, w = make_ours()
    _, net, tx, tdy = make_torch()
    return [(f"GRU N={N} T={T} D={D} U={U}: forgenet vs torch.nn.GRU", [
        ("forward", lambda: ours_forward(x, w), lambda: torch_forward(torch, net, tx)),
        ("forward+backward", lambda: ours_forward_backward(x, dy, w), lambda: torch_forward_backward(torch, net, tx, tdy)),
    ])]


if __name__ == "__main__":
    versus.cli(sys.argv[1:], __doc__, tables, threads=THREADS)

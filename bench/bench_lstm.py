"""2-layer LSTM (input 64, hidden 128, batch 32, 40 steps): forward and forward+backward, ours beside
torch.nn.LSTM(64, 128, num_layers=2, batch_first=True), both on 2 threads.

    python -m pytest bench/bench_lstm.py --benchmark-columns=min,median,mean   # pytest-benchmark
    python bench/bench_lstm.py [--reps 15]   # forgenet/torch ratio table, forgenet.bench's timing core
"""
import sys

import numpy as np
import pytest

from forgenet import kernels
from forgenet.bench import versus

N, T, D, U, LAYERS, THREADS = 32, 40, 64, 128, 2, 2


def make_ours(seed=0):
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(U)
    layers = []
    for d in (D, U):
        layers.append([(rng.uniform(-s, s, shape)).astype(np.float32) for shape in ((d, 4 * U), (U, 4 * U), (4 * U,))])
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    dy = rng.standard_normal((N, T, U)).astype(np.float32)
    return x, dy, layers


def ours_forward(x, layers):
    z = np.zeros((N, U), np.float32)
    for W, R, b in layers:
        x = kernels.lstm(x, z, z, W, R, b)[0]
    return x


def ours_forward_backward(x, dy, layers):
    z = np.zeros((N, U), np.float32)
    inputs, reserves = [], []
    for W, R, b in layers:
        inputs.append(x)
        x, _, _, res = kernels.lstm(x, z, z, W, R, b, training=True)
        reserves.append(res)
    grads = []
    for (W, R, b), xin, res in zip(reversed(layers), reversed(inputs), reversed(reserves)):
        g = kernels.lstm_backward(dy, None, None, xin, z, z, W, R, b, res)
        dy = g[0]
        grads.append(g[3:])
    return dy, grads


def make_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.LSTM(D, U, num_layers=LAYERS, batch_first=True)
    x = torch.randn(N, T, D)
    dy = torch.randn(N, T, U)
    return torch, net, x, dy


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


@pytest.mark.benchmark(group="lstm-forward")
def test_forward_ours(benchmark):
    x, _, layers = make_ours()
    benchmark(ours_forward, x, layers)


@pytest.mark.benchmark(group="lstm-forward")
def test_forward_torch(benchmark):
    torch, net, x, _ = make_torch()
    benchmark(torch_forward, torch, net, x)


@pytest.mark.benchmark(group="lstm-forward-backward")
def test_forward_backward_ours(benchmark):
    x, dy, layers = make_ours()
    benchmark(ours_forward_backward, x, dy, layers)


@pytest.mark.benchmark(group="lstm-forward-backward")
def test_forward_backward_torch(benchmark):
    torch, net, x, dy = make_torch()
    benchmark(torch_forward_backward, torch, net, x, dy)


def tables():
    import torch

    x, dy, layers = make_ours()
    _, net, tx, tdy = make_torch()
    return [(f"LSTM x{LAYERS} N={N} T={T} D={D} U={U}: forgenet vs torch.nn.LSTM", [
        ("forward", lambda: ours_forward(x, layers), lambda: torch_forward(torch, net, tx)),
        ("forward+backward", lambda: ours_forward_backward(x, dy, layers),
         lambda: torch_forward_backward(torch, net, tx, tdy)),
    ])]


if __name__ == "__main__":
    versus.cli(sys.argv[1:], __doc__, tables, threads=THREADS)

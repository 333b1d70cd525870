"""BatchNormalization in training mode on a (32, 32, 32, 64) activation: forward and forward+backward,
ours (channels-last, the fused batch_norm kernels) beside torch.nn.BatchNorm2d(64) on the same data in
NCHW (its native layout) and in channels_last memory format, both on 2 threads.

    python -m pytest bench/bench_batchnorm.py --benchmark-columns=min,median,mean   # pytest-benchmark
    python bench/bench_batchnorm.py [--reps 15]   # forgenet/torch ratio table, forgenet.bench's timing core
"""
import sys

import numpy as np
import pytest

from forgenet import kernels
from forgenet.bench import versus

N, H, W, C, THREADS = 32, 32, 32, 64, 2


def make_ours(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, H, W, C)).astype(np.float32)
    dy = rng.standard_normal((N, H, W, C)).astype(np.float32)
    gamma, beta = np.ones(C, np.float32), np.zeros(C, np.float32)
    return x, dy, gamma, beta


def ours_forward(x, gamma, beta):
    return kernels.batch_norm(x, gamma, beta, axis=-1, epsilon=1e-3)[0]


def ours_forward_backward(x, dy, gamma, beta):
    _, mean, var = kernels.batch_norm(x, gamma, beta, axis=-1, epsilon=1e-3)
    return kernels.batch_norm_backward(dy, x, gamma, mean, var, axis=-1, epsilon=1e-3)


def make_torch(channels_last=False):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(C, eps=1e-3, momentum=0.01).train()
    x, dy = torch.randn(N, C, H, W), torch.randn(N, C, H, W)
    if channels_last:
        x, dy = x.contiguous(memory_format=torch.channels_last), dy.contiguous(memory_format=torch.channels_last)
    return torch, bn, x, dy


def torch_forward(torch, bn, x):
    with torch.no_grad():
        return bn(x)


def torch_forward_backward(torch, bn, x, dy):
    x = x.detach().requires_grad_(True)  # we compute dx too
    bn.zero_grad(set_to_none=True)
    bn(x).backward(dy)
    return x.grad


@pytest.fixture(scope="module", autouse=True)
def threads():
    versus.set_threads(THREADS)


@pytest.mark.benchmark(group="batchnorm-forward")
def test_forward_ours(benchmark):
    x, _, g, b = make_ours()
    benchmark(ours_forward, x, g, b)


@pytest.mark.benchmark(group="batchnorm-forward")
def test_forward_torch(benchmark):
    torch, bn, x, _ = make_torch()
    benchmark(torch_forward, torch, bn, x)


@pytest.mark.benchmark(group="batchnorm-forward-backward")
def test_forward_backward_ours(benchmark):
    x, dy, g, b = make_ours()
    benchmark(ours_forward_backward, x, dy, g, b)


@pytest.mark.benchmark(group="batchnorm-forward-backward")
def test_forward_backward_torch(benchmark):
    torch, bn, x, dy = make_torch()
    benchmark(torch_forward_backward, torch, bn, x, dy)


def tables():
    import torch

    x, dy, g, b = make_ours()
    out = []
    for layout in ("NCHW", "channels_last"):
        _, bn, tx, tdy = make_torch(channels_last=layout == "channels_last")
        out.append((f"BatchNorm training N={N} H={H} W={W} C={C}: forgenet vs torch.nn.BatchNorm2d in {layout}", [
            ("forward", lambda: ours_forward(x, g, b), lambda bn=bn, tx=tx: torch_forward(torch, bn, tx)),
            ("forward+backward", lambda: ours_forward_backward(x, dy, g, b),
             lambda bn=bn, tx=tx, tdy=tdy: torch_forward_backward(torch, bn, tx, tdy)),
        ]))
    return out


if __name__ == "__main__":
    versus.cli(sys.argv[1:], __doc__, tables, threads=THREADS)

"""The CUDA kernels and their bindings, run on the CPU (no GPU, no nvcc needed): see conftest.py.

  * every tests/cuda_emu/check_*.cpp program checks kernels against double-precision loops (odd
    shapes, all transposes, split-K, chunked convolutions, padding rules, NaN rows);
  * the emulated forgenet._cuda runs the ops end to end on host memory and must match forgenet._C.
The real-GPU checks are tests/gpu/ (scripts/gpu-check.sh).
"""
import subprocess

import numpy as np
import pytest

from emu_support import CHECKERS, D, alloc, host, same
from forgenet import _C


@pytest.mark.parametrize("checker", [c.stem for c in CHECKERS])
def test_kernels_against_double_precision_loops(emu, checker):
    run = subprocess.run([str(emu.checkers[checker])], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert run.stdout.strip().endswith(", 0 failed"), run.stdout


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m,n,k,beta", [(1, 1, 1, 0.0), (13, 7, 29, 0.5), (70, 66, 1500, 1.0)])
def test_gemm_binding(ops, rng, trans_a, trans_b, m, n, k, beta):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c = rng.standard_normal((m, n)).astype(np.float32) if beta else None
    # positional, exactly as python/forgenet/kernels/gemm.py calls backend(...).gemm
    ours = ops.gemm(D(a), D(b), D(c) if beta else None, trans_a, trans_b, 0.5, beta)
    same("gemm", host(ours), _C.gemm(a, b, c, trans_a, trans_b, 0.5, beta), rtol=1e-4, atol=1e-4)


def test_softmax_bindings(ops, rng):
    x = rng.standard_normal((3, 4, 37)).astype(np.float32)
    y = _C.softmax(x)
    same("softmax", host(ops.softmax(D(x))), y)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    same("softmax_backward", host(ops.softmax_backward(D(dy), D(y))), _C.softmax_backward(dy, y))
    logits = rng.standard_normal((9, 13)).astype(np.float32)
    labels = rng.integers(0, 13, 9)
    same("xent sparse", host(ops.softmax_cross_entropy(D(logits), D(labels))),
          _C.softmax_cross_entropy(logits, labels))
    target = rng.dirichlet(np.ones(13), 9).astype(np.float32)
    same("xent dense", host(ops.softmax_cross_entropy(D(logits), D(target))),
          _C.softmax_cross_entropy(logits, target))


@pytest.mark.parametrize("pool,strides,padding", [((2, 2), (2, 2), "valid"), ((3, 3), (1, 1), "same"),
                                                  ((3, 2), (2, 3), "same")])
def test_pooling_bindings(ops, rng, pool, strides, padding):
    x = rng.standard_normal((2, 9, 7, 3)).astype(np.float32)
    for name in ("max_pool2d", "avg_pool2d"):
        y = getattr(_C, name)(x, pool, strides, padding)
        # positional, as python/forgenet/kernels/pooling.py calls them
        same(name, host(getattr(ops, name)(D(x), pool, strides, padding)), y)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        same(name + "_backward", host(getattr(ops, name + "_backward")(D(dy), D(x), pool, strides, padding)),
              getattr(_C, name + "_backward")(dy, x, pool, strides, padding))


@pytest.mark.parametrize("xs,ks,strides,padding,bias", [
    ((2, 9, 8, 3), (3, 3, 3, 5), (2, 1), "same", True), ((1, 6, 7, 2), (2, 3, 2, 4), (1, 2), "valid", False),
    ((2, 5, 5, 3), (1, 1, 3, 6), (1, 1), "valid", True), ((0, 5, 5, 2), (3, 3, 2, 4), (1, 1), "same", True)])
def test_conv2d_bindings(ops, rng, xs, ks, strides, padding, bias):
    x, k = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ks).astype(np.float32)
    b = rng.standard_normal(ks[3]).astype(np.float32) if bias else None
    y = _C.conv2d(x, k, b, strides=strides, padding=padding)
    same("conv2d", host(ops.conv2d(D(x), D(k), D(b) if bias else None, strides=strides, padding=padding)), y,
          rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    same("conv2d_backward", host(ops.conv2d_backward(D(dy), D(x), D(k), strides=strides, padding=padding)),
          _C.conv2d_backward(dy, x, k, strides=strides, padding=padding), rtol=1e-4, atol=1e-4)
    dx, dk, db = ops.conv2d_backward(D(dy), D(x), D(k), strides=strides, padding=padding, need_dx=False)
    assert dx is None
    same("conv2d_backward need_dx=False", host((dk, db)),
          _C.conv2d_backward(dy, x, k, strides=strides, padding=padding, need_dx=False)[1:], rtol=1e-4, atol=1e-4)
    dx, dk, db = ops.conv2d_backward(D(dy), D(x), D(k), strides=strides, padding=padding, need_db=False)
    assert db is None
    same("conv2d_backward need_db=False", host((dx, dk)),
          _C.conv2d_backward(dy, x, k, strides=strides, padding=padding, need_db=False)[:2], rtol=1e-4, atol=1e-4)


def test_a_misbehaving_allocator_is_an_error(emu):
    x = D(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"softmax: alloc returned y of shape \(3, 2\), asked for \(2, 3\)"):
        emu.module.softmax(x, stream=0, alloc=lambda shape: alloc(shape[::-1]))
    with pytest.raises(TypeError, match="softmax: y must be a GPU array"):
        emu.module.softmax(x, stream=0, alloc=lambda shape: np.empty(shape, np.float32))

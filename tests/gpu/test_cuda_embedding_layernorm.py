"""The CUDA embedding and layer-norm ops on a real GPU (marked `gpu`; skipped where CuPy or a GPU is
missing). Same rules as tests/gpu/test_cuda_ops.py: each result is compared with a float64 numpy
reference of the same math (our error at most twice CuPy float32's, plus a tiny floor) and with
forgenet._C. Shapes are odd, include a single row, empty inputs and rows wider than a block.
"""
import numpy as np
import pytest

from gpu_support import cupy, f32, like_cupy  # first: skips the module without CuPy or a GPU

import forgenet
from forgenet import _C

cupyx = pytest.importorskip("cupyx")

pytestmark = pytest.mark.gpu


def like_cpu(what, ours, cpu, rtol=1e-4, atol=1e-5):
    outs = ours if isinstance(ours, tuple) else (ours,)
    cpus = cpu if isinstance(cpu, tuple) else (cpu,)
    assert len(outs) == len(cpus), what
    for i, (o, c) in enumerate(zip(outs, cpus)):
        np.testing.assert_allclose(cupy.asnumpy(o), c, rtol=rtol, atol=atol, err_msg=f"{what} vs CPU, output {i}")


# ------------------------------------------------------------------------------------- embedding
EMB_CASES = [((), 5, 3), ((1,), 1, 1), ((7,), 5, 33), ((3, 4, 5), 11, 9), ((0,), 4, 6), ((32, 40), 1000, 64),
             ((64, 512), 32000, 257), ((4096,), 3, 128)]  # the last: thousands of hits per row


@pytest.mark.parametrize("ids_shape,vocab,dim", EMB_CASES)
def test_embedding_forward_backward(gpu, rng, ids_shape, vocab, dim):
    ids = rng.integers(0, vocab, ids_shape).astype(np.int64)
    table, dy = f32(rng, vocab, dim), f32(rng, *ids_shape, dim)
    gids, gtable, gdy = cupy.asarray(ids), cupy.asarray(table), cupy.asarray(dy)
    what = f"embedding ids={ids_shape} vocab={vocab} dim={dim}"
    out = gpu.embedding(gids, gtable)
    np.testing.assert_array_equal(cupy.asnumpy(out), table[ids], err_msg=what)  # a gather is exact
    like_cpu(what, out, _C.embedding(ids, table))

    ref64 = np.zeros((vocab, dim))
    np.add.at(ref64, ids.reshape(-1), dy.reshape(-1, dim).astype(np.float64))
    ref32 = cupy.zeros((vocab, dim), cupy.float32)
    cupyx.scatter_add(ref32, gids.reshape(-1), gdy.reshape(-1, dim))
    dtable = gpu.embedding_backward(gdy, gids, vocab)
    like_cupy(what + " backward", dtable, ref64, ref32)
    like_cpu(what + " backward", dtable, _C.embedding_backward(dy, ids, vocab), rtol=1e-4, atol=1e-4)


def test_public_embedding_ops_take_any_integer_ids(rng):
    ids, table = rng.integers(0, 9, (4, 6)).astype(np.int32), f32(rng, 9, 5)
    out = forgenet.kernels.embedding(cupy.asarray(ids), cupy.asarray(table))
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(out), table[ids])
    dy = f32(rng, 4, 6, 5)
    d = forgenet.kernels.embedding_backward(cupy.asarray(dy), cupy.asarray(ids), 9)
    np.testing.assert_allclose(cupy.asnumpy(d), _C.embedding_backward(dy, ids.astype(np.int64), 9), rtol=1e-5,
                               atol=1e-6)


def test_embedding_bad_ids_never_read_out_of_bounds(gpu):
    # The kernels cannot raise: called directly, they give a NaN row and add nothing to the gradient.
    # The public op checks ids first (below), with the CPU's message.
    table = cupy.arange(8, dtype=cupy.float32).reshape(4, 2)
    ids = cupy.asarray([1, -1, 4, 2, 1 << 40])
    out = cupy.asnumpy(gpu.embedding(ids, table))
    np.testing.assert_array_equal(out[[0, 3]], [[2, 3], [4, 5]])
    assert np.isnan(out[[1, 2, 4]]).all()
    dt = cupy.asnumpy(gpu.embedding_backward(cupy.ones((5, 2), cupy.float32), ids, 4))
    np.testing.assert_array_equal(dt, [[0, 0], [1, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match=r"embedding: ids must be in \[0, 4\), got -1 at flat index 1"):
        forgenet.kernels.embedding(ids, table)
    with pytest.raises(ValueError, match=r"embedding_backward: ids must be in \[0, 4\), got 4 at flat index 2"):
        forgenet.kernels.embedding_backward(cupy.ones((5, 2), cupy.float32), cupy.asarray([1, 0, 4, 2, 3]), 4)


# ------------------------------------------------------------------------------------ layer norm
def ln_ref(xp, x, gamma, beta, dy, mean, rstd, eps, dtype):
    """Forward (y, mean, rstd) from x, and backward (dx, dgamma, dbeta) from the given mean and rstd."""
    x, gamma, beta, dy, mean, rstd = (xp.asarray(a, dtype=dtype) for a in (x, gamma, beta, dy, mean, rstd))
    m = x.mean(-1)
    r = 1 / xp.sqrt(((x - m[..., None]) ** 2).mean(-1) + eps)
    y = (x - m[..., None]) * r[..., None] * gamma + beta
    xh = (x - mean[..., None]) * rstd[..., None]
    g = dy * gamma
    dx = rstd[..., None] * (g - g.mean(-1, keepdims=True) - xh * (g * xh).mean(-1, keepdims=True))
    axes = tuple(range(x.ndim - 1))
    if not axes:  # a 1-d x: one row
        return y, m, r, dx, dy * xh, dy
    return y, m, r, dx, (dy * xh).sum(axis=axes), dy.sum(axis=axes)


LN_CASES = [((1, 1), 1e-3, 0.0), ((5,), 1e-3, 0.0), ((3, 4, 37), 1e-5, 0.0), ((257, 1000), 1e-3, 0.0),
            ((7, 5000), 1e-5, 0.0), ((4096, 1024), 1e-3, 0.0), ((33, 300), 1e-3, 1000.0), ((100000, 3), 1e-3, 0.0)]


@pytest.mark.parametrize("shape,eps,offset", LN_CASES)
def test_layer_norm_forward_backward(gpu, rng, shape, eps, offset):
    c = shape[-1]
    x, dy = f32(rng, *shape, lo=offset - 2, hi=offset + 2), f32(rng, *shape)
    gamma, beta = f32(rng, c, lo=0.5, hi=1.5), f32(rng, c)
    gx, gg, gb, gdy = (cupy.asarray(a) for a in (x, gamma, beta, dy))
    what = f"layer_norm {shape} eps={eps} offset={offset}"
    y, mean, rstd = gpu.layer_norm(gx, gg, gb, eps)
    cpu = _C.layer_norm(x, gamma, beta, eps)
    _, cmean, crstd = cpu
    r64 = ln_ref(np, x, gamma, beta, dy, cmean, crstd, eps, np.float64)
    r32 = ln_ref(cupy, x, gamma, beta, dy, cmean, crstd, eps, np.float32)
    for name, ours, a64, a32 in zip(("y", "mean", "rstd"), (y, mean, rstd), r64[:3], r32[:3]):
        like_cupy(f"{what} {name}", ours, a64, a32)
    # with |mean| >> std the CPU's float row sums are ~1e-4 off (ours sum in double)
    like_cpu(what, (y, mean, rstd), cpu, rtol=1e-4, atol=1e-3 if offset else 1e-4)

    grads = gpu.layer_norm_backward(gdy, gx, gg, cupy.asarray(cmean), cupy.asarray(crstd))
    for name, ours, a64, a32 in zip(("dx", "dgamma", "dbeta"), grads, r64[3:], r32[3:]):
        like_cupy(f"{what} {name}", ours, a64, a32)
    like_cpu(what + " backward", grads, _C.layer_norm_backward(dy, x, gamma, cmean, crstd), rtol=1e-3, atol=1e-4)
    again = gpu.layer_norm_backward(gdy, gx, gg, cupy.asarray(cmean), cupy.asarray(crstd))
    for a, b in zip(grads, again):  # no atomics: bitwise the same
        assert bool((a == b).all()), what + " is not deterministic"


def test_layer_norm_empty_constant_and_none_affine(gpu, rng):
    y, mean, rstd = gpu.layer_norm(cupy.full((2, 4), 3.0, cupy.float32), cupy.ones(4, cupy.float32),
                                   cupy.zeros(4, cupy.float32), 1e-3)
    assert not bool(y.any()) and np.allclose(cupy.asnumpy(mean), 3.0)
    np.testing.assert_allclose(cupy.asnumpy(rstd), 1 / np.sqrt(1e-3), rtol=1e-6)
    x = cupy.zeros((0, 4), cupy.float32)
    y, mean, rstd = gpu.layer_norm(x, cupy.ones(4, cupy.float32), cupy.zeros(4, cupy.float32), 1e-3)
    assert y.shape == (0, 4) and mean.shape == (0,)
    dx, dg, db = gpu.layer_norm_backward(y, y, cupy.ones(4, cupy.float32), mean, rstd)
    assert dx.shape == (0, 4) and not bool(dg.any()) and not bool(db.any())
    xs = f32(rng, 3, 6)
    ours = forgenet.kernels.layer_norm(cupy.asarray(xs), None, None)  # Keras's scale=False, center=False
    assert all(isinstance(o, cupy.ndarray) for o in ours)
    like_cpu("layer_norm None affine", ours, forgenet.kernels.layer_norm(xs, None, None))

"""The emulated CUDA embedding and layer-norm bindings (see conftest.py) against forgenet._C, called
positionally as python/forgenet/kernels/embedding.py and layernorm.py call them, plus bad inputs: the
GPU binding must reject what the CPU one rejects, with the same message."""
import re

import numpy as np
import pytest

from emu_support import D, alloc, host, same
from forgenet import _C


def raw(emu, name, *args):
    """The emulated module's op called directly (bypassing _cuda_backend), as other frameworks may."""
    return getattr(emu.module, name)(*args, stream=0, alloc=alloc)


def both_raise(exc, match, cpu_call, gpu_call):
    with pytest.raises(exc, match=match):
        cpu_call()
    with pytest.raises(exc, match=match):
        gpu_call()


# ------------------------------------------------------------------------------------- embedding
@pytest.mark.parametrize("ids_shape,vocab,dim", [((), 5, 3), ((1,), 1, 1), ((7,), 5, 33), ((3, 4, 5), 11, 9),
                                                 ((0,), 4, 6), ((2, 0), 0, 3), ((60,), 7, 300)])
def test_embedding_bindings_match_cpu(ops, rng, ids_shape, vocab, dim):
    ids = rng.integers(0, max(vocab, 1), ids_shape).astype(np.int64)
    table = rng.standard_normal((vocab, dim)).astype(np.float32)
    same("embedding", host(ops.embedding(D(ids), D(table))), _C.embedding(ids, table))
    dy = rng.standard_normal(ids_shape + (dim,)).astype(np.float32)
    ours = host(ops.embedding_backward(D(dy), D(ids), vocab))
    assert ours.shape == (vocab, dim)
    same("embedding_backward", ours, _C.embedding_backward(dy, ids, vocab))


def test_embedding_bad_ids_are_nan_rows_and_add_nothing(ops):
    # The CPU op raises; the GPU cannot without a device sync, so the kernel stays in bounds instead.
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    ids = np.array([1, -1, 4, 2, 1000000])
    out = host(ops.embedding(D(ids), D(table)))
    np.testing.assert_array_equal(out[[0, 3]], table[[1, 2]])
    assert np.isnan(out[[1, 2, 4]]).all()
    dt = host(ops.embedding_backward(D(np.ones((5, 2), np.float32)), D(ids), 4))
    np.testing.assert_array_equal(dt, [[0, 0], [1, 1], [1, 1], [0, 0]])


def test_embedding_bad_inputs_match_cpu_messages(emu):
    table, ids = np.zeros((4, 2), np.float32), np.array([0, 1])
    both_raise(TypeError, "embedding: ids must be int64, got int32", lambda: _C.embedding(ids.astype(np.int32), table),
               lambda: raw(emu, "embedding", D(ids.astype(np.int32)), D(table)))
    both_raise(TypeError, "embedding: embeddings must be float32, got float64",
               lambda: _C.embedding(ids, table.astype(np.float64)),
               lambda: raw(emu, "embedding", D(ids), D(table.astype(np.float64))))
    both_raise(ValueError, re.escape("embedding: embeddings must have rank 2, got shape (4,)"),
               lambda: _C.embedding(ids, table[:, 0].copy()), lambda: raw(emu, "embedding", D(ids), D(table[:, 0])))
    msg = re.escape("embedding_backward: dy must have shape ids.shape + (output_dim,) with ids (2, 3), got (2, 4, 5)")
    dy, ids2 = np.zeros((2, 4, 5), np.float32), np.zeros((2, 3), np.int64)
    both_raise(ValueError, msg, lambda: _C.embedding_backward(dy, ids2, 4),
               lambda: raw(emu, "embedding_backward", D(dy), D(ids2), 4))
    dy1, ids1 = np.zeros((1, 2), np.float32), np.zeros(1, np.int64)
    both_raise(ValueError, "embedding_backward: input_dim must be >= 0, got -1",
               lambda: _C.embedding_backward(dy1, ids1, -1),
               lambda: raw(emu, "embedding_backward", D(dy1), D(ids1), -1))
    with pytest.raises(TypeError, match="embedding: ids must be a GPU array"):
        raw(emu, "embedding", ids, D(table))


# ------------------------------------------------------------------------------------ layer norm
@pytest.mark.parametrize("shape,eps,offset", [((1, 1), 1e-3, 0.0), ((5,), 1e-3, 0.0), ((3, 4, 37), 1e-5, 0.0),
                                              ((70, 257), 1e-3, 0.0), ((6, 300), 1e-3, 1000.0), ((0, 5), 1e-3, 0.0),
                                              ((2, 0), 1e-3, 0.0)])
def test_layer_norm_bindings_match_cpu(ops, rng, shape, eps, offset):
    x = (rng.standard_normal(shape) + offset).astype(np.float32)
    c = shape[-1]
    gamma, beta = rng.uniform(0.5, 1.5, c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    ours = host(ops.layer_norm(D(x), D(gamma), D(beta), eps))
    cpu = _C.layer_norm(x, gamma, beta, eps)
    assert [o.shape for o in ours] == [a.shape for a in cpu]
    # With |mean| >> std the CPU's float row sums are ~1e-4 off; ours sum in double: check both on y.
    same("layer_norm", ours, cpu, rtol=1e-4, atol=1e-3 if offset else 1e-4)
    if x.size:
        x64 = x.astype(np.float64)
        m64 = x64.mean(-1, keepdims=True)
        y64 = (x64 - m64) / np.sqrt(((x64 - m64) ** 2).mean(-1, keepdims=True) + eps) * gamma + beta
        same("layer_norm vs float64", ours[0], y64.astype(np.float32), rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(shape).astype(np.float32)
    _, mean, rstd = cpu
    ours = host(ops.layer_norm_backward(D(dy), D(x), D(gamma), D(mean), D(rstd)))
    cpu = _C.layer_norm_backward(dy, x, gamma, mean, rstd)
    assert [o.shape for o in ours] == [a.shape for a in cpu]
    same("layer_norm_backward", ours, cpu, rtol=1e-4, atol=1e-4)


def test_layer_norm_constant_and_nan_rows_match_cpu(ops):
    x = np.array([[3.0] * 4, [0.0, np.nan, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0]], np.float32)
    g, b = np.ones(4, np.float32), np.zeros(4, np.float32)
    ours, cpu = host(ops.layer_norm(D(x), D(g), D(b), 1e-3)), _C.layer_norm(x, g, b, 1e-3)
    for o, c in zip(ours, cpu):
        np.testing.assert_array_equal(np.isnan(o), np.isnan(c))
        np.testing.assert_allclose(np.nan_to_num(o), np.nan_to_num(c), rtol=1e-5, atol=1e-6)


def test_layer_norm_bad_inputs_match_cpu_messages(emu, rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    g, b = np.ones(6, np.float32), np.zeros(6, np.float32)
    ln = lambda *a: raw(emu, "layer_norm", *[D(v) if isinstance(v, np.ndarray) else v for v in a])  # noqa: E731
    lnb = lambda *a: raw(emu, "layer_norm_backward", *[D(v) for v in a])  # noqa: E731
    both_raise(TypeError, "layer_norm: x must be float32, got float64",
               lambda: _C.layer_norm(x.astype(np.float64), g, b),
               lambda: ln(x.astype(np.float64), g, b, 1e-3))
    msg = re.escape("layer_norm: gamma must have shape (6,) to match x (4, 6), got (3,)")
    both_raise(ValueError, msg, lambda: _C.layer_norm(x, g[:3].copy(), b), lambda: ln(x, g[:3], b, 1e-3))
    msg = re.escape("layer_norm: beta must have rank 1, got shape (1, 6)")
    both_raise(ValueError, msg, lambda: _C.layer_norm(x, g, b[None]), lambda: ln(x, g, b[None], 1e-3))
    both_raise(ValueError, "layer_norm: x must have rank >= 1, got a scalar",
               lambda: _C.layer_norm(np.array(1.0, np.float32), g, b),
               lambda: ln(np.array(1.0, np.float32), g, b, 1e-3))
    both_raise(ValueError, "layer_norm: epsilon must be >= 0, got -1", lambda: _C.layer_norm(x, g, b, -1.0),
               lambda: ln(x, g, b, -1.0))
    _, mean, rstd = _C.layer_norm(x, g, b)
    msg = re.escape("layer_norm_backward: dy must have the shape of x (4, 6), got (3, 6)")
    both_raise(ValueError, msg, lambda: _C.layer_norm_backward(x[:3].copy(), x, g, mean, rstd),
               lambda: lnb(x[:3], x, g, mean, rstd))
    msg = re.escape("layer_norm_backward: mean and rstd must have shape x.shape[:-1] for x (4, 6), got (4,) and (2,)")
    both_raise(ValueError, msg, lambda: _C.layer_norm_backward(x, x, g, mean, rstd[:2].copy()),
               lambda: lnb(x, x, g, mean, rstd[:2]))
    msg = re.escape("layer_norm_backward: rstd must have rank 1, got shape (4, 1)")
    both_raise(ValueError, msg, lambda: _C.layer_norm_backward(x, x, g, mean, rstd[:, None]),
               lambda: lnb(x, x, g, mean, rstd[:, None]))

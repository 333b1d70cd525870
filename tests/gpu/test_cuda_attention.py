"""The CUDA fused attention (forgenet._cuda attention / attention_backward) on a real GPU (marker `gpu`;
skipped where CuPy or a GPU is missing).

Forward (o, lse) and backward (dq, dk, dv) run on CuPy arrays through forgenet._cuda_backend and are
compared, on the same inputs, with
  (a) a float64 numpy reference with the full score matrix: our error must be at most twice that of the
      same math done by CuPy in float32 (softmax(q k^T * scale) v and its gradients), plus a small floor;
  (b) forgenet._C's attention ops.
Shapes: N = 1, N not a multiple of the 64-key tile, Nq != Nk both ways, d in every width class (and
dv != d, dv split past 128), causal and not, N up to 1024; plus a memory check that N = 16384 causal
forward + backward grows CuPy's pool by O(N d), not O(N^2).
"""
import functools

import numpy as np
import pytest

from gpu_support import cupy, like_cupy  # first: skips the module without CuPy or a GPU

import forgenet
from forgenet import _C

like_cupy = functools.partial(like_cupy, floor=1e-5)  # longer reductions: a looser floor

pytestmark = pytest.mark.gpu


def like_cpu(what, ours, cpu, rtol=1e-3, atol=1e-4):
    for i, (o, c) in enumerate(zip(ours, cpu)):
        np.testing.assert_allclose(cupy.asnumpy(o), c, rtol=rtol, atol=atol, err_msg=f"{what} vs CPU, output {i}")


def _scale(d, scale):
    return 1.0 / np.sqrt(d) if scale is None else scale


def ref(xp, q, k, v, do, causal, scale):
    """softmax(q k^T * scale [causal]) v, lse and the gradients, in xp (numpy float64 or CuPy float32)."""
    scale = _scale(q.shape[-1], scale)
    s = xp.einsum("bhid,bhjd->bhij", q, k) * scale
    nq, nk = s.shape[-2:]
    if causal:
        s = xp.where(xp.tril(xp.ones((nq, nk), bool)), s, -xp.inf)
    if nk == 0:
        z = xp.zeros(q.shape[:3] + v.shape[3:], q.dtype)
        return z, xp.full(q.shape[:3], -xp.inf, q.dtype), xp.zeros_like(q), xp.zeros_like(k), xp.zeros_like(v)
    m = s.max(-1, keepdims=True)
    p = xp.exp(s - m)
    l = p.sum(-1, keepdims=True)
    p = p / l
    o = p @ v
    dv = xp.einsum("bhij,bhid->bhjd", p, do)
    dp = do @ xp.swapaxes(v, -1, -2)
    ds = p * (dp - (do * o).sum(-1, keepdims=True)) * scale
    return o, (m + xp.log(l))[..., 0], ds @ k, xp.einsum("bhij,bhid->bhjd", ds, q), dv


def inputs(rng, b, h, nq, nk, d, dv):
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return f(b, h, nq, d), f(b, h, nk, d), f(b, h, nk, dv), f(b, h, nq, dv)


SHAPES = [  # (B, H, Nq, Nk, d, dv)
    (1, 1, 1, 1, 8, 8), (2, 3, 65, 130, 64, 64), (1, 2, 200, 100, 32, 32), (1, 1, 129, 129, 128, 128),
    (2, 2, 33, 47, 8, 8), (1, 1, 20, 30, 5, 7), (1, 1, 50, 60, 64, 32), (1, 1, 40, 50, 100, 130),
    (1, 1, 17, 90, 200, 16), (1, 4, 1024, 1024, 64, 64), (1, 1, 1000, 777, 128, 128), (1, 2, 300, 1024, 32, 32),
]


def check(gpu, rng, shape, causal, scale=None):
    q, k, v, do = inputs(rng, *shape)
    r64 = ref(np, *(a.astype(np.float64) for a in (q, k, v, do)), causal, scale)
    gq, gk, gv, gdo = (cupy.asarray(a) for a in (q, k, v, do))
    r32 = ref(cupy, gq, gk, gv, gdo, causal, scale)
    what = f"attention {shape} causal={causal} scale={scale}"
    o, lse = gpu.attention(gq, gk, gv, causal, scale)  # positional, as ops/attention.py calls it
    like_cupy(what + " o", o, r64[0], r32[0])
    lse_np = cupy.asnumpy(lse)
    if shape[3] == 0:  # no keys: -inf, exactly
        assert np.all(np.isneginf(lse_np)), what
    else:
        like_cupy(what + " lse", lse, r64[1], r32[1])
    grads = gpu.attention_backward(gdo, gq, gk, gv, o, lse, causal, scale)
    for name, g, g64, g32 in zip(("dq", "dk", "dv"), grads, r64[2:], r32[2:]):
        like_cupy(f"{what} {name}", g, g64, g32)
    cpu_o, cpu_lse = _C.attention(q, k, v, causal, scale)
    like_cpu(what, (o,), (cpu_o,))
    if shape[3] > 0:
        like_cpu(what, (lse,), (cpu_lse,))
    like_cpu(what + " backward", grads, _C.attention_backward(do, q, k, v, cpu_o, cpu_lse, causal, scale))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_attention_forward_backward(gpu, rng, shape, causal):
    check(gpu, rng, shape, causal)


@pytest.mark.parametrize("scale", [0.05, 1.0, -0.3, 0.0])
def test_attention_custom_scale(gpu, rng, scale):
    check(gpu, rng, (1, 2, 40, 70, 16, 16), True, scale)


@pytest.mark.parametrize("shape", [(1, 2, 5, 0, 8, 8), (1, 1, 0, 7, 8, 8), (0, 2, 5, 5, 8, 8), (1, 1, 6, 9, 8, 0)])
def test_attention_empty_axes(gpu, rng, shape):
    """No keys: o = 0, lse = -inf, zero gradients; no queries: zero dk, dv; no heads; dv = 0."""
    q, k, v, do = inputs(rng, *shape)
    gq, gk, gv, gdo = (cupy.asarray(a) for a in (q, k, v, do))
    o, lse = gpu.attention(gq, gk, gv, True, None)
    cpu_o, cpu_lse = _C.attention(q, k, v, True, None)
    assert o.shape == cpu_o.shape and lse.shape == cpu_lse.shape
    like_cpu(f"empty {shape}", (o, lse), (cpu_o, cpu_lse), rtol=1e-5, atol=1e-5)  # -inf == -inf passes
    grads = gpu.attention_backward(gdo, gq, gk, gv, o, lse, True, None)
    like_cpu(f"empty {shape}", grads, _C.attention_backward(do, q, k, v, cpu_o, cpu_lse, True, None))


def test_public_op_dispatches_to_cuda_on_the_current_stream(rng):
    q, k, v, do = inputs(rng, 2, 2, 70, 90, 32, 32)
    gq, gk, gv, gdo = (cupy.asarray(a) for a in (q, k, v, do))
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        o, lse = forgenet.kernels.attention(gq, gk, gv, causal=True, return_lse=True)
        grads = forgenet.kernels.attention_backward(gdo, gq, gk, gv, o, lse, causal=True)
    stream.synchronize()
    assert isinstance(o, cupy.ndarray) and all(isinstance(g, cupy.ndarray) for g in grads)
    cpu_o, cpu_lse = _C.attention(q, k, v, True, None)
    like_cpu("ops.attention", (o, lse), (cpu_o, cpu_lse))
    like_cpu("ops.attention_backward", grads, _C.attention_backward(do, q, k, v, cpu_o, cpu_lse, True, None))


def test_attention_memory_is_linear_in_n(gpu):
    """N = 16384 causal forward + backward: CuPy's pool grows by O(N d) (outputs, a row vector of scratch),
    never by an N x N score matrix (1 GiB here); a few rows are checked against float64."""
    n, d = 16384, 64
    r = cupy.random.default_rng(0)
    q, k, v, do = (r.standard_normal((1, 1, n, d), dtype=cupy.float32) for _ in range(4))
    pool = cupy.get_default_memory_pool()
    cupy.cuda.Device().synchronize()
    pool.free_all_blocks()
    before = pool.total_bytes()
    o, lse = gpu.attention(q, k, v, True, None)
    grads = gpu.attention_backward(do, q, k, v, o, lse, True, None)
    cupy.cuda.Device().synchronize()
    grown = pool.total_bytes() - before
    nd_bytes = n * d * 4
    assert grown <= 8 * nd_bytes, f"pool grew by {grown} bytes for N={n}, d={d} (N*d*4 = {nd_bytes})"
    for g in grads:
        assert bool(cupy.isfinite(g).all())
    qh, kh, vh = (cupy.asnumpy(a[0, 0]).astype(np.float64) for a in (q, k, v))
    oh, lh = cupy.asnumpy(o[0, 0]), cupy.asnumpy(lse[0, 0])
    for i in (0, 1, 63, 64, 4095, 9999, n - 1):
        s = kh[: i + 1] @ qh[i] / np.sqrt(d)
        m = s.max()
        p = np.exp(s - m)
        np.testing.assert_allclose(oh[i], p @ vh[: i + 1] / p.sum(), rtol=1e-3, atol=1e-4, err_msg=f"row {i}")
        np.testing.assert_allclose(lh[i], m + np.log(p.sum()), rtol=1e-5, atol=1e-4, err_msg=f"lse row {i}")

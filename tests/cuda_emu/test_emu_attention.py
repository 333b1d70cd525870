"""The emulated forgenet._cuda attention ops (see conftest.py) against forgenet._C, end to end through
forgenet._cuda_backend, called positionally exactly as python/forgenet/kernels/attention.py calls them."""
import numpy as np
import pytest

from emu_support import D, alloc, host, same
from forgenet import _C

SHAPES = [  # (B, H, Nq, Nk, d, dv)
    (1, 1, 1, 1, 8, 8), (2, 1, 70, 33, 16, 16), (1, 2, 65, 130, 64, 64), (1, 1, 40, 20, 128, 128),
    (1, 1, 20, 30, 5, 7), (1, 1, 9, 12, 100, 130), (1, 1, 3, 4, 8, 0), (1, 2, 4, 0, 8, 8), (1, 1, 0, 5, 8, 8),
    (0, 2, 5, 5, 8, 8),
]


def inputs(rng, b, h, nq, nk, d, dv):
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return f(b, h, nq, d), f(b, h, nk, d), f(b, h, nk, dv), f(b, h, nq, dv)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_attention_bindings(ops, rng, shape, causal):
    q, k, v, do = inputs(rng, *shape)
    o, lse = _C.attention(q, k, v, causal, None)
    ours = host(ops.attention(D(q), D(k), D(v), causal, None))
    same("attention", ours, (o, lse), rtol=1e-4, atol=1e-5)
    grads = _C.attention_backward(do, q, k, v, o, lse, causal, None)
    ours = host(ops.attention_backward(D(do), D(q), D(k), D(v), D(o), D(lse), causal, None))
    same("attention_backward", ours, grads, rtol=1e-4, atol=5e-5)


@pytest.mark.parametrize("scale", [0.05, -0.3, 0.0, 2])
def test_attention_scale(ops, rng, scale):
    q, k, v, do = inputs(rng, 1, 2, 40, 70, 16, 16)
    o, lse = _C.attention(q, k, v, True, scale)
    same("attention", host(ops.attention(D(q), D(k), D(v), True, scale)), (o, lse), rtol=1e-4, atol=1e-5)
    same("attention_backward",
         host(ops.attention_backward(D(do), D(q), D(k), D(v), D(o), D(lse), True, scale)),
         _C.attention_backward(do, q, k, v, o, lse, True, scale), rtol=1e-4, atol=5e-5)


def test_attention_keywords_and_defaults(ops, rng):
    q, k, v, _ = inputs(rng, 1, 1, 7, 9, 8, 8)
    o, lse = host(ops.attention(D(q), D(k), D(v)))
    same("defaults", (o, lse), _C.attention(q, k, v))
    same("keywords", host(ops.attention(q=D(q), k=D(k), v=D(v), causal=True, scale=0.5)),
         _C.attention(q, k, v, causal=True, scale=0.5))


def _bad_calls(emu):
    z = lambda *s: D(np.zeros(s, np.float32))  # noqa: E731
    kw = dict(stream=0, alloc=alloc)
    fwd, bwd = emu.module.attention, emu.module.attention_backward
    q, k, v = z(1, 2, 5, 8), z(1, 2, 6, 8), z(1, 2, 6, 4)
    o, lse = z(1, 2, 5, 4), z(1, 2, 5)
    return [
        (TypeError, "attention: q must be float32, got float64", lambda: fwd(D(np.zeros((1, 2, 5, 8))), k, v, **kw)),
        (TypeError, "attention: k must be a GPU array", lambda: fwd(q, np.zeros((1, 2, 6, 8), np.float32), v, **kw)),
        (ValueError, r"attention: q must have rank 4, got shape \(2, 5, 8\)", lambda: fwd(z(2, 5, 8), k, v, **kw)),
        (ValueError, "attention: q, k and v must share batch and head sizes",
         lambda: fwd(q, z(1, 3, 6, 8), v, **kw)),
        (ValueError, r"attention: k and v must have the same length \(axis 2\)",
         lambda: fwd(q, k, z(1, 2, 7, 4), **kw)),
        (ValueError, r"attention: q and k must have the same head dim \(axis 3\)",
         lambda: fwd(q, z(1, 2, 6, 9), v, **kw)),
        (ValueError, "attention: the head dim of q and k must be >= 1",
         lambda: fwd(z(1, 2, 5, 0), z(1, 2, 6, 0), v, **kw)),
        (TypeError, "attention: scale must be a number or None, got str", lambda: fwd(q, k, v, False, "x", **kw)),
        (ValueError, r"attention: alloc returned o of shape \(4, 5, 2, 1\), asked for \(1, 2, 5, 4\)",
         lambda: fwd(q, k, v, stream=0, alloc=lambda s: alloc(s[::-1]))),
        (ValueError, r"attention_backward: o must have shape \(1, 2, 5, 4\), got \(1, 2, 5, 3\)",
         lambda: bwd(o, q, k, v, z(1, 2, 5, 3), lse, **kw)),
        (ValueError, r"attention_backward: do must have shape \(1, 2, 5, 4\), got \(1, 2, 4, 4\)",
         lambda: bwd(z(1, 2, 4, 4), q, k, v, o, lse, **kw)),
        (ValueError, r"attention_backward: lse must have shape \(1, 2, 5\), got \(1, 2, 6\)",
         lambda: bwd(o, q, k, v, o, z(1, 2, 6), **kw)),
        (ValueError, r"attention_backward: lse must have rank 3, got shape \(1, 2, 5, 1\)",
         lambda: bwd(o, q, k, v, o, z(1, 2, 5, 1), **kw)),
        (ValueError, "attention_backward: q and k must have the same head dim",
         lambda: bwd(o, q, z(1, 2, 6, 7), v, o, lse, **kw)),
        (TypeError, "attention_backward: do must be float32, got float64",
         lambda: bwd(D(np.zeros((1, 2, 5, 4))), q, k, v, o, lse, **kw)),
    ]


@pytest.mark.parametrize("case", range(15))
def test_attention_bad_inputs(emu, case):
    exc, match, call = _bad_calls(emu)[case]
    with pytest.raises(exc, match=match):
        call()


def test_attention_bad_inputs_are_the_cpu_messages(emu):
    """The CPU op says the same thing about the same mistake."""
    q, k, v = (np.zeros(s, np.float32) for s in ((1, 2, 5, 8), (1, 2, 6, 8), (1, 3, 6, 4)))
    with pytest.raises(ValueError) as cpu:
        _C.attention(q, k, v)
    with pytest.raises(ValueError) as gpu:
        emu.module.attention(D(q), D(k), D(v), stream=0, alloc=alloc)
    assert str(gpu.value) == str(cpu.value)

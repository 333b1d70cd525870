"""Fused softmax attention (FlashAttention style): never materialises the Nq x Nk score matrix.

Shapes follow torch's scaled_dot_product_attention: q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv)
-> o (B, H, Nq, dv). causal=True lets query i see keys j <= i (top-left aligned, torch's is_causal).
With no key at all (Nk == 0) the output is 0, lse is -inf and the gradients are 0, as torch returns.
"""
from __future__ import annotations

import numbers

from forgenet.kernels._array import as_f32, backend


def _scale(op: str, scale):
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"{op}: scale must be a number or None, got {type(scale).__name__}")
    return float(scale)


def _check(op: str, q, k, v):
    if q.shape[:2] != k.shape[:2] or q.shape[:2] != v.shape[:2]:
        raise ValueError(f"{op}: q, k and v must share batch and head sizes (axes 0, 1), "
                         f"got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    if k.shape[2] != v.shape[2]:
        raise ValueError(f"{op}: k and v must have the same length (axis 2), got k {tuple(k.shape)} and v {tuple(v.shape)}")
    if q.shape[3] != k.shape[3]:
        raise ValueError(f"{op}: q and k must have the same head dim (axis 3), got q {tuple(q.shape)} and k {tuple(k.shape)}")
    if q.shape[3] < 1:
        raise ValueError(f"{op}: the head dim of q and k must be >= 1, got q {tuple(q.shape)}")


def attention(q, k, v, *, causal: bool = False, scale=None, return_lse: bool = False):
    """softmax(scale * q @ k^T [causal mask]) @ v; scale defaults to 1/sqrt(d).

    Returns o, or (o, lse) with lse (B, H, Nq) the log-sum-exp of each row's scaled scores, which
    attention_backward needs.

    Arrays: q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv): float32, C order, torch's SDPA layout (batch,
    heads, sequence, head dim); numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind.
    Returns o (B, H, Nq, dv) [, lse (B, H, Nq)], float32.
    """
    op = "attention"
    q, k, v = (as_f32(op, n, a, ndim=4) for n, a in (("q", q), ("k", k), ("v", v)))
    _check(op, q, k, v)
    o, lse = backend(op, q, k, v).attention(q, k, v, bool(causal), _scale(op, scale))
    return (o, lse) if return_lse else o


def attention_backward(do, q, k, v, o, lse, *, causal: bool = False, scale=None):
    """Gradients (dq, dk, dv) of attention given dO and the forward's o and lse.

    Scores are recomputed tile by tile (P = exp(scale * S - lse)), so memory stays O(N d) per head.

    Arrays: do and o (B, H, Nq, dv), q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv), lse (B, H, Nq):
    float32, C order; numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns dq,
    dk, dv float32, shaped as q, k, v.
    """
    op = "attention_backward"
    q, k, v = (as_f32(op, n, a, ndim=4) for n, a in (("q", q), ("k", k), ("v", v)))
    _check(op, q, k, v)
    do = as_f32(op, "do", do, ndim=4)
    o = as_f32(op, "o", o, ndim=4)
    lse = as_f32(op, "lse", lse, ndim=3)
    want = tuple(q.shape[:3]) + (v.shape[3],)
    if tuple(o.shape) != want:
        raise ValueError(f"{op}: o must have shape {want}, got {tuple(o.shape)}")
    if tuple(do.shape) != want:
        raise ValueError(f"{op}: do must have shape {want}, got {tuple(do.shape)}")
    if tuple(lse.shape) != want[:3]:
        raise ValueError(f"{op}: lse must have shape {want[:3]}, got {tuple(lse.shape)}")
    return backend(op, do, q, k, v, o, lse).attention_backward(do, q, k, v, o, lse, bool(causal), _scale(op, scale))

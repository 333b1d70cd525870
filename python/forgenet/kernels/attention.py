"""Fused softmax attention (FlashAttention style): never materialises the Nq x Nk score matrix.

Shapes follow torch's scaled_dot_product_attention: q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv)
-> o (B, H, Nq, dv). causal=True lets query i see keys j <= i (top-left aligned, torch's is_causal).
With no key at all (Nk == 0) the output is 0, lse is -inf and the gradients are 0, as torch returns.
"""
from __future__ import annotations

import numbers

from forgenet.kernels._array import as_f32, backend, out_kw


def _scale(op: str, scale):
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"{op}: scale must be a number or None, got {type(scale).__name__}")
    return float(scale)


# The shape rules (q, k, v against each other; o, do, lse against them) are the family's contract in
# C++ (csrc/bindings/contracts/attention.h), shared by both devices; here only conversion and dispatch.
def attention(q, k, v, *, causal: bool = False, scale=None, return_lse: bool = False, out=None):
    """softmax(scale * q @ k^T [causal mask]) @ v; scale defaults to 1/sqrt(d).

    Returns o, or (o, lse) with lse (B, H, Nq) the log-sum-exp of each row's scaled scores, which
    attention_backward needs. out: o's buffer, or (o, lse) buffers with return_lse.

    Arrays: q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv): float32, C order, torch's SDPA layout (batch,
    heads, sequence, head dim); numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind.
    Returns o (B, H, Nq, dv) [, lse (B, H, Nq)], float32.
    """
    op = "attention"
    q, k, v = (as_f32(op, n, a, ndim=4) for n, a in (("q", q), ("k", k), ("v", v)))
    if out is not None and not return_lse:
        out = (out, None)
    o, lse = backend(op, q, k, v).attention(q, k, v, bool(causal), _scale(op, scale), **out_kw(out))
    return (o, lse) if return_lse else o


def attention_backward(do, q, k, v, o, lse, *, causal: bool = False, scale=None, out=None):
    """Gradients (dq, dk, dv) of attention given dO and the forward's o and lse.

    Scores are recomputed tile by tile (P = exp(scale * S - lse)), so memory stays O(N d) per head.
    out: (dq, dk, dv) buffers, each None or an array.

    Arrays: do and o (B, H, Nq, dv), q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, dv), lse (B, H, Nq):
    float32, C order; numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns dq, dk,
    dv float32, shaped as q, k, v.
    """
    op = "attention_backward"
    q, k, v = (as_f32(op, n, a, ndim=4) for n, a in (("q", q), ("k", k), ("v", v)))
    do = as_f32(op, "do", do, ndim=4)
    o = as_f32(op, "o", o, ndim=4)
    lse = as_f32(op, "lse", lse, ndim=3)
    return backend(op, do, q, k, v, o, lse).attention_backward(do, q, k, v, o, lse, bool(causal), _scale(op, scale),
                                                            **out_kw(out))

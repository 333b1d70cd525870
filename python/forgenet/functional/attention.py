"""Scaled dot-product attention: the fused kernel (no score matrix) and, for what it cannot do
(arbitrary masks, dropout on the probabilities, returning the scores), a materialised path."""
from __future__ import annotations

import numpy as np

from forgenet import kernels
from forgenet.autograd.tensor import Function, array_module


class _FusedAttention(Function):
    def forward(self, q, k, v, causal, scale):
        xp = array_module(q)
        q, k, v = (xp.ascontiguousarray(a) for a in (q, k, v))
        o, lse = kernels.attention(q, k, v, causal=causal, scale=scale, return_lse=True)
        self.save(q, k, v, o, lse, causal, scale)
        return o

    def backward(self, g):
        q, k, v, o, lse, causal, scale = self.saved
        dq, dk, dv = kernels.attention_backward(g, q, k, v, o, lse, causal=causal, scale=scale)
        return dq, dk, dv, None, None


class _MaterialisedAttention(Function):
    """softmax(scale * q k^T + add) [* drop] @ v per (batch, head), on our GEMM and softmax kernels.

    add (B or 1, 1 or H, Nq, Nk) is 0 where attending and a large negative number where masked (Keras
    adds -1e9, so a fully masked row attends uniformly, as in Keras). drop is the dropout mask
    (already scaled by 1/(1-rate)) or None. Returns (o, probabilities before dropout).
    """

    def forward(self, q, k, v, add, drop, scale):
        xp = array_module(q)
        q, k, v = (xp.ascontiguousarray(a) for a in (q, k, v))
        b, h, nq, _ = q.shape
        nk, dv = k.shape[2], v.shape[3]
        s = xp.empty((b, h, nq, nk), np.float32)
        for i in range(b):
            for j in range(h):
                s[i, j] = kernels.gemm(q[i, j], k[i, j], trans_b=True, alpha=scale)
        if add is not None:
            s += add
        p = kernels.softmax(s)
        pd = p if drop is None else p * drop
        o = xp.empty((b, h, nq, dv), np.float32)
        for i in range(b):
            for j in range(h):
                o[i, j] = kernels.gemm(pd[i, j], v[i, j])
        self.save(q, k, v, p, pd, drop, scale)
        return o, p

    def backward(self, go, gp):
        q, k, v, p, pd, drop, scale = self.saved
        xp = array_module(q)
        dq, dk, dv = xp.zeros_like(q), xp.zeros_like(k), xp.zeros_like(v)
        dp = xp.zeros_like(p)
        if go is not None:
            go = xp.ascontiguousarray(go, dtype=np.float32)
            for i in range(q.shape[0]):
                for j in range(q.shape[1]):
                    dp[i, j] = kernels.gemm(go[i, j], v[i, j], trans_b=True)
                    dv[i, j] = kernels.gemm(pd[i, j], go[i, j], trans_a=True)
            if drop is not None:
                dp *= drop
        if gp is not None:
            dp += gp
        ds = kernels.softmax_backward(dp, p)
        for i in range(q.shape[0]):
            for j in range(q.shape[1]):
                dq[i, j] = kernels.gemm(ds[i, j], k[i, j], alpha=scale)
                dk[i, j] = kernels.gemm(ds[i, j], q[i, j], trans_a=True, alpha=scale)
        return dq, dk, dv, None, None, None


def attention(q, k, v, causal=False, scale=None):
    """Fused softmax attention on (B, H, N, d) tensors; differentiable in q, k and v.

    causal: query i sees keys j <= i. scale defaults to 1/sqrt(d). Memory O(N d): the N x N scores
    are never stored, in the forward or the backward.
    """
    return _FusedAttention.apply(q, k, v, bool(causal), None if scale is None else float(scale))


def attention_with_scores(q, k, v, mask=None, dropout_mask=None, scale=None):
    """Attention through the full score matrix: (o, probabilities). mask (broadcastable to
    (B, H, Nq, Nk), true = attend) is applied Keras-style; dropout_mask multiplies the probabilities."""
    d = q.shape[-1]
    scale = 1.0 / np.sqrt(d) if scale is None else float(scale)
    add = None
    if mask is not None:
        xp = array_module(mask)
        add = xp.where(xp.asarray(mask, dtype=bool), np.float32(0.0), np.float32(-1e9)).astype(np.float32)
    return _MaterialisedAttention.apply(q, k, v, add, dropout_mask, scale)

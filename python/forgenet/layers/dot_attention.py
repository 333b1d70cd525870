"""Attention (Luong-style dot-product or concat scores) and AdditiveAttention (Bahdanau-style), the
Keras 3 layers: inputs [query (B, Tq, dim), value (B, Tv, dim)] or [query, value, key]; masks
[query_mask, value_mask]; return_attention_scores; use_causal_mask."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional import reshaping as R
from forgenet.layers.base import Layer
from forgenet.utils import get_rng


def _data(x):
    return x.data if isinstance(x, Tensor) else x


class Attention(Layer):
    """scores = query . key^T (times `scale` with use_scale), or with score_mode='concat'
    concat_score_weight * sum(tanh(scale * (query + key))); softmax over the keys; times value."""

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{self.name}: score_mode must be one of 'dot', 'concat', got {score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{self.name}: dropout must be a float between 0 and 1, got {dropout!r}")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"{self.name}: seed must be an int or None, got {seed!r}")
        self.use_scale, self.score_mode, self.dropout, self.seed = bool(use_scale), score_mode, float(dropout), seed
        self._rng = None if seed is None else np.random.default_rng(int(seed))
        self.scale = self.concat_score_weight = None

    def _validate(self, shapes):
        if not isinstance(shapes, (list, tuple)) or not 2 <= len(shapes) <= 3:
            raise ValueError(f"{self.name}: inputs must be a list [query, value] or [query, value, key], got "
                             f"{shapes!r}")
        for s in shapes:
            if len(s) != 3:
                raise ValueError(f"{self.name}: each input must have rank 3 (batch, steps, dim), got shapes {shapes}")

    def build(self, input_shape):
        self._validate(input_shape)
        if self.use_scale:
            self.scale = self.add_weight((), "ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight((), "ones", name="concat_score_weight")
        self.built = True

    def _scores(self, q, k):
        if self.score_mode == "dot":
            s = R.batch_matmul(q, k, trans_b=True)
            return s * self.scale if self.scale is not None else s
        t = F.reshape(q, (q.shape[0], q.shape[1], 1, q.shape[2])) + F.reshape(k, (k.shape[0], 1, k.shape[1], k.shape[2]))
        if self.scale is not None:
            t = self.scale * t
        return self.concat_score_weight * F.sum(F.tanh(t), axis=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate([tuple(t.shape) for t in inputs])
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._scores(q, k)
        xp = array_module(_data(scores))
        keep = None
        if v_mask is not None:
            keep = xp.asarray(_data(v_mask)).astype(bool)[:, None, :]
        if use_causal_mask:
            tq, tv = scores.shape[1], scores.shape[2]
            causal = xp.tril(xp.ones((tq, tv), dtype=bool))[None]
            keep = causal if keep is None else keep & causal
        if keep is not None:  # Keras subtracts 1e9 from the scores of masked keys
            scores = scores - xp.asarray(np.float32(1e9) * (~xp.broadcast_to(keep, scores.shape)))
        weights = F.softmax(scores, axis=-1)
        used = weights
        if training and self.dropout > 0:
            used = F.dropout(weights, self.dropout, self._rng if self._rng is not None else get_rng())
        out = R.batch_matmul(used, v)
        if q_mask is not None:
            out = out * xp.asarray(_data(q_mask)).astype(np.float32)[:, :, None]
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """scores = sum(scale * tanh(query + key)) over dim, with a learned (dim,) scale when use_scale."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        if self.use_scale:
            self.scale = self.add_weight((input_shape[0][-1],), "glorot_uniform", name="scale")
        self.built = True

    def _scores(self, q, k):
        t = F.tanh(F.reshape(q, (q.shape[0], q.shape[1], 1, q.shape[2])) +
                   F.reshape(k, (k.shape[0], 1, k.shape[1], k.shape[2])))
        if self.scale is not None:
            t = self.scale * t
        return F.sum(t, axis=-1)

    def get_config(self):
        cfg = super().get_config()
        del cfg["score_mode"]
        return cfg

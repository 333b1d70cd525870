"""MultiHeadAttention with Keras 3's arguments, call signature and weight layout:
query/key/value kernels (dim, num_heads, key_dim | value_dim) with biases (num_heads, key_dim | value_dim),
then the output kernel (num_heads, value_dim, out_dim) and bias (out_dim,), in that order.

Without masks, dropout or returned scores the heads run through the fused attention kernel (no
Nq x Nk matrix in memory, forward or backward); otherwise through the materialised path, which
masks as Keras does (a -1e9 additive mask before the softmax).
"""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.layers.base import Layer
from forgenet.layers.core import check_initializers, initializer_config, positive_int
from forgenet.utils import get_rng


def _data(x):
    return x.data if isinstance(x, Tensor) else x


class MultiHeadAttention(Layer):
    supports_masking = True  # Keras: the output carries the query's mask

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = positive_int(self.name, "num_heads", num_heads)
        self.key_dim = positive_int(self.name, "key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else positive_int(self.name, "value_dim", value_dim)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{self.name}: dropout must be a number in [0, 1], got {dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is not None:
            dims = (output_shape,) if isinstance(output_shape, numbers.Integral) else tuple(output_shape)
            if len(dims) != 1:
                raise ValueError(f"{self.name}: only a 1-D output_shape (an int) is supported, got {output_shape!r}")
            output_shape = positive_int(self.name, "output_shape", dims[0])
        self.output_shape_arg = output_shape
        if attention_axes is not None and tuple(np.atleast_1d(attention_axes)) not in ((1,), (-2,)):
            raise ValueError(f"{self.name}: only attention over the sequence axis (attention_axes=None) is "
                             f"supported, got {attention_axes!r}")
        check_initializers(self.name, kernel_initializer, bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self._weights_made = False

    # ---- weights -----------------------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None):
        # Layer.__call__ passes only the query's shape; the rest are known at the first call.
        if value_shape is not None:
            self._make_weights(query_shape, value_shape, key_shape or value_shape)
        self.built = True

    def _make_weights(self, query_shape, value_shape, key_shape):
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f"{self.name}: expected {what} of rank 3 (batch, sequence, features) with a known "
                                 f"feature size, got shape {tuple(shape)}")
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape_arg or query_shape[-1]

        def dense(name, fan_in, units):
            kernel = self.add_weight((fan_in, h, units), self.kernel_initializer, name=f"{name}/kernel")
            bias = self.add_weight((h, units), self.bias_initializer, name=f"{name}/bias") if self.use_bias else None
            return kernel, bias

        self.query_kernel, self.query_bias = dense("query", query_shape[-1], kd)
        self.key_kernel, self.key_bias = dense("key", key_shape[-1], kd)
        self.value_kernel, self.value_bias = dense("value", value_shape[-1], vd)
        self.output_kernel = self.add_weight((h, vd, out), self.kernel_initializer, name="attention_output/kernel")
        self.output_bias = (self.add_weight((out,), self.bias_initializer, name="attention_output/bias")
                            if self.use_bias else None)
        self._dims = (query_shape[-1], key_shape[-1], value_shape[-1])
        self._weights_made = True

    def _project(self, x, kernel, bias, units):
        """(B, N, D) -> (B, heads, N, units)."""
        b, n, d = x.shape
        y = F.matmul(x, F.reshape(kernel, (d, self.num_heads * units)))
        if bias is not None:
            y = y + F.reshape(bias, (self.num_heads * units,))
        return F.transpose(F.reshape(y, (b, n, self.num_heads, units)), (0, 2, 1, 3))

    # ---- masks (Keras's _compute_attention_mask) ---------------------------------------------------
    def _mask(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        xp = array_module(_data(query))
        b, t, s = query.shape[0], query.shape[1], value.shape[1]
        mask = None

        def both(m, more):
            return more if m is None else xp.logical_and(m, more)

        if query_mask is not None:
            mask = both(mask, xp.asarray(_data(query_mask)).astype(bool).reshape(b, t, 1))
        for m in (value_mask, key_mask):
            if m is not None:
                mask = both(mask, xp.asarray(_data(m)).astype(bool).reshape(b, 1, s))
        if use_causal_mask:
            mask = both(mask, xp.tril(xp.ones((t, s), dtype=bool))[None])
        if attention_mask is not None:
            am = xp.asarray(_data(attention_mask)).astype(bool)
            if am.ndim == 2:
                am = am[None]
            if am.ndim != 3 or am.shape[1:] != (t, s) or am.shape[0] not in (1, b):
                raise ValueError(f"{self.name}: attention_mask must have shape (batch, {t}, {s}) "
                                 f"(query length, key length), got {tuple(am.shape)}")
            mask = both(mask, am)
        return None if mask is None else mask[:, None]  # broadcast over heads

    # ---- call --------------------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        key = value if key is None else key
        # Layer.__call__ turns every keyword into an array (a Tensor when eager): flags come back as bools.
        return_attention_scores = bool(_data(return_attention_scores))
        use_causal_mask = bool(_data(use_causal_mask))
        if not self._weights_made:
            self._make_weights(query.shape, value.shape, key.shape)
        for what, x, want in (("query", query, self._dims[0]), ("value", value, self._dims[2]),
                              ("key", key, self._dims[1])):
            if x.ndim != 3 or x.shape[-1] != want:
                raise ValueError(f"{self.name}: expected {what} of shape (batch, sequence, {want}), got {tuple(x.shape)}")
        if not (query.shape[0] == key.shape[0] == value.shape[0]):
            raise ValueError(f"{self.name}: query, key and value must have the same batch size, got "
                             f"{tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{self.name}: key and value must have the same sequence length, got "
                             f"{tuple(key.shape)} and {tuple(value.shape)}")
        q = self._project(query, self.query_kernel, self.query_bias, self.key_dim)
        k = self._project(key, self.key_kernel, self.key_bias, self.key_dim)
        v = self._project(value, self.value_kernel, self.value_bias, self.value_dim)

        drop = bool(training) and self.dropout > 0.0
        plain = (query_mask is None and value_mask is None and key_mask is None and attention_mask is None)
        scores = None
        if plain and not drop and not return_attention_scores:
            o = F.attention(q, k, v, causal=bool(use_causal_mask))
        else:
            mask = self._mask(query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
            dmask = None
            if drop:
                shape = (q.shape[0], self.num_heads, q.shape[2], k.shape[2])
                keep = get_rng().random(shape, dtype=np.float32) >= self.dropout
                dmask = array_module(_data(q)).asarray(keep.astype(np.float32) / np.float32(max(1.0 - self.dropout, 1e-12)))
            o, scores = F.attention_with_scores(q, k, v, mask=mask, dropout_mask=dmask)
        b, t = query.shape[0], query.shape[1]
        o = F.reshape(F.transpose(o, (0, 2, 1, 3)), (b, t, self.num_heads * self.value_dim))
        out = self.output_kernel.shape[-1]
        y = F.matmul(o, F.reshape(self.output_kernel, (self.num_heads * self.value_dim, out)))
        if self.output_bias is not None:
            y = y + self.output_bias
        return (y, scores) if return_attention_scores else y

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape[:-1]) + (self.output_shape_arg or query_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_shape_arg, "kernel_initializer": initializer_config(self.kernel_initializer),
                "bias_initializer": initializer_config(self.bias_initializer)}

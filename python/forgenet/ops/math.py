"""keras.ops math functions (keras/src/ops/math.py): segment reductions, erf, sequence framing."""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional import math as M
from forgenet.functional import pointwise as P
from forgenet.functional import reduce as R
from forgenet.functional import shape as S
from forgenet.functional.activation import _erf
from forgenet.ops._dispatch import tensor_op
from forgenet.ops.nn import in_top_k, top_k  # noqa: F401  (keras.ops.math re-exports them)
from forgenet.ops.numpy import logsumexp, rsqrt  # noqa: F401


def _segments(segment_ids, num_segments):
    ids = np.asarray(segment_ids.data if isinstance(segment_ids, Tensor) else segment_ids).astype(np.int64)
    n = int(ids.max()) + 1 if num_segments is None and ids.size else int(num_segments or 0)
    return ids, n


@tensor_op("data")
def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    ids, n = _segments(segment_ids, num_segments)
    onehot = (ids[:, None] == np.arange(n)).astype(np.float32)  # (N, S); ids outside [0, n) are dropped
    flat = M.reshape(data, (data.shape[0], -1))
    out = M.matmul(M.transpose(Tensor(onehot), (1, 0)), flat)
    return M.reshape(out, (n,) + tuple(data.shape[1:]))


@tensor_op("data")
def segment_max(data, segment_ids, num_segments=None, sorted=False):
    ids, n = _segments(segment_ids, num_segments)
    rows = []
    for s in range(n):
        sel = np.nonzero(ids == s)[0]
        if sel.size:
            rows.append(R.max(S.take(data, sel, axis=0), axis=0))
        else:  # an empty segment: -inf (the lowest integer for integer data), as Keras
            low = -np.inf if data.dtype.kind == "f" else np.iinfo(data.dtype).min
            rows.append(Tensor(np.full(data.shape[1:], low, data.dtype)))
    return S.stack(rows, 0)


@tensor_op("x")
def erf(x):
    return P.unary(x, lambda xp, a: _erf(a), lambda xp, a, y: (2 / np.sqrt(np.pi)) * xp.exp(-a * a))


@tensor_op("x")
def extract_sequences(x, sequence_length, sequence_stride):
    n = x.shape[-1]
    frames = 1 + (n - sequence_length) // sequence_stride
    idx = (np.arange(frames)[:, None] * sequence_stride + np.arange(sequence_length)[None, :])
    return S.take(x, idx, axis=-1)


def _xp(x):
    return array_module(x.data if isinstance(x, Tensor) else x)

"""Embedding lookup and its gradient (rows of repeated ids accumulate)."""
from __future__ import annotations

import numpy as np

from forgenet.ops._array import _kind, as_f32, backend


def _ids(op, ids):
    if _kind(ids) == "cupy":
        import cupy as xp
    else:
        xp, ids = np, np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: ids must be integers, got {ids.dtype}")
    return xp.asarray(ids, dtype=np.int64, order="C")  # (ascontiguousarray would make a scalar 1-d)


def embedding(ids, embeddings):
    """embeddings[ids]: ids of any shape and integer dtype, embeddings (input_dim, output_dim) ->
    (*ids.shape, output_dim). An id outside [0, input_dim) is a ValueError naming it."""
    ids = _ids("embedding", ids)
    embeddings = as_f32("embedding", "embeddings", embeddings, ndim=2)
    return backend("embedding", ids, embeddings).embedding(ids, embeddings)


def embedding_backward(dy, ids, input_dim):
    """Gradient of the embedding table: (input_dim, output_dim), rows of repeated ids summed."""
    op = "embedding_backward"
    ids = _ids(op, ids)
    dy = as_f32(op, "dy", dy)
    return backend(op, dy, ids).embedding_backward(dy, ids, int(input_dim))

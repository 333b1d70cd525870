"""Embedding lookup and its gradient (rows of repeated ids accumulate)."""
from __future__ import annotations

import numpy as np

from forgenet.kernels._array import _as_numpy, _kind, as_f32, backend, index, out_kw


def _ids(op, ids):
    if _kind(ids) == "cupy":
        import cupy as xp
    else:
        xp, ids = np, _as_numpy(op, "ids", ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: ids must be integers, got {ids.dtype}")
    return xp.asarray(ids, dtype=np.int64, order="C")  # (ascontiguousarray would make a scalar 1-d)


def _in_range(op, ids, input_dim):
    """On the GPU, where the kernel cannot raise, ids are checked here (one wait for the device, as
    for class labels); forgenet._C checks them itself, with the same message."""
    if _kind(ids) != "cupy" or ids.size == 0:
        return
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= input_dim:
        bad = lo if lo < 0 else hi
        k = int((ids.ravel() == bad).argmax())
        raise ValueError(f"{op}: ids must be in [0, {input_dim}), got {bad} at flat index {k}")


def embedding(ids, embeddings, *, out=None):
    """embeddings[ids]: ids of any shape and integer dtype, embeddings (input_dim, output_dim) ->
    (*ids.shape, output_dim). An id outside [0, input_dim) is a ValueError naming it. out: a buffer of
    the result's shape to write into.

    Arrays: ids any integer dtype (converted to int64), embeddings float32 (input_dim, output_dim), C order;
    numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns float32 (*ids.shape,
    output_dim).
    """
    ids = _ids("embedding", ids)
    embeddings = as_f32("embedding", "embeddings", embeddings, ndim=2)
    _in_range("embedding", ids, embeddings.shape[0])
    return backend("embedding", ids, embeddings).embedding(ids, embeddings, **out_kw(out))


def embedding_backward(dy, ids, input_dim, *, out=None):
    """Gradient of the embedding table: (input_dim, output_dim), rows of repeated ids summed (into out=
    when given).

    Arrays: dy float32 (*ids.shape, output_dim), ids integer; numpy (CPU) or CuPy (GPU) on one device, results
    new arrays of that kind. Returns float32 (input_dim, output_dim).
    """
    op = "embedding_backward"
    ids = _ids(op, ids)
    dy = as_f32(op, "dy", dy)
    input_dim = index(op, "input_dim", input_dim)
    _in_range(op, ids, input_dim)
    return backend(op, dy, ids).embedding_backward(dy, ids, input_dim, **out_kw(out))

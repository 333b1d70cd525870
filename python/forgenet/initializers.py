"""Weight initializers by their Keras names (same formulas, so fresh models start alike)."""
from __future__ import annotations

import math

import numpy as np

from forgenet.utils.random import get_rng


def _fans(shape):
    # Keras: dense (in, out); conv (kh, kw, in, out) -> fan = receptive field * channels
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape):
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return get_rng().uniform(-limit, limit, shape).astype(np.float32)


def glorot_normal(shape):
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / max(fan_in + fan_out, 1)))


def he_normal(shape):
    return _truncated_normal(shape, math.sqrt(2.0 / max(_fans(shape)[0], 1)))


def he_uniform(shape):
    limit = math.sqrt(6.0 / max(_fans(shape)[0], 1))
    return get_rng().uniform(-limit, limit, shape).astype(np.float32)


def random_normal(shape, stddev=0.05):
    return (get_rng().standard_normal(shape) * stddev).astype(np.float32)


def random_uniform(shape, minval=-0.05, maxval=0.05):
    return get_rng().uniform(minval, maxval, shape).astype(np.float32)


def _truncated_normal(shape, stddev):
    # Keras's truncated normal: redraw beyond 2 std, with the std corrected for the truncation
    std = stddev / 0.87962566103423978
    x = get_rng().standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = get_rng().standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return (x * std).astype(np.float32)


def orthogonal(shape):
    rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
    cols = shape[-1]
    a = get_rng().standard_normal((max(rows, cols), min(rows, cols)))
    q = _orthonormal_columns(a)
    if rows < cols:
        q = q.T
    return q[:rows, :cols].reshape(shape).astype(np.float32)


def _orthonormal_columns(a):
    """The Q of a QR with a positive diagonal in R (what Keras's orthogonal gets after its sign fix),
    by modified Gram-Schmidt run twice; elementwise numpy only, so no LAPACK/BLAS in the library."""
    q = a.copy()
    for j in range(q.shape[1]):
        v = q[:, j]
        for _ in range(2):  # a second pass restores orthogonality lost to rounding
            if j:
                v -= (q[:, :j] * (q[:, :j] * v[:, None]).sum(axis=0)).sum(axis=1)
        v /= np.sqrt((v * v).sum())
    return q


def zeros(shape):
    return np.zeros(shape, np.float32)


def ones(shape):
    return np.ones(shape, np.float32)


_BY_NAME = {f.__name__: f for f in (glorot_uniform, glorot_normal, he_normal, he_uniform, random_normal,
                                   random_uniform, orthogonal, zeros, ones)}


def get(name):
    """An initializer by Keras name or a callable taking the shape."""
    if callable(name):
        return name
    key = name.lower() if isinstance(name, str) else name
    if key not in _BY_NAME:
        raise ValueError(f"Unknown initializer {name!r}; expected one of {sorted(_BY_NAME)} or a callable")
    return _BY_NAME[key]

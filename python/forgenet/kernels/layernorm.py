"""Layer normalisation over the last axis (Keras LayerNormalization with axis=-1)."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet.kernels._array import as_f32, backend, out_kw


def _affine(op: str, name: str, p, x, fill: float):
    c = x.shape[-1]
    if p is None:  # Keras's scale=False / center=False
        xp = np if type(x).__module__.startswith("numpy") else __import__("cupy")
        return xp.full((c,), fill, dtype=np.float32)
    p = as_f32(op, name, p, ndim=1)
    if p.shape[0] != c:
        raise ValueError(f"{op}: {name} must have shape ({c},) to match x {tuple(x.shape)}, got {tuple(p.shape)}")
    return p


def _x(op: str, x):
    if np.ndim(x) == 0:  # checked first: as_f32 would make a scalar 1-d
        raise ValueError(f"{op}: x must have rank >= 1, got a scalar")
    return as_f32(op, "x", x)


def layer_norm(x, gamma, beta, *, epsilon: float = 1e-3, out=None):
    """y = (x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis.

    Returns (y, mean, rstd); mean and rstd (shape x.shape[:-1]) are what layer_norm_backward needs.
    gamma or beta may be None (no scale / no centre). out: (y, mean, rstd) buffers, each None or an array.

    Arrays: x float32 (..., C) of rank >= 1, C order; gamma, beta (C,) float32; numpy (CPU) or CuPy (GPU) on
    one device, results new arrays of that kind. Returns y (x's shape), mean and rstd (x.shape[:-1]), float32.
    """
    op = "layer_norm"
    x = _x(op, x)
    gamma = _affine(op, "gamma", gamma, x, 1.0)
    beta = _affine(op, "beta", beta, x, 0.0)
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon >= 0:
        raise ValueError(f"{op}: epsilon must be a number >= 0, got {epsilon!r}")
    return backend(op, x, gamma, beta).layer_norm(x, gamma, beta, float(epsilon), **out_kw(out))


def layer_norm_backward(dy, x, gamma, mean, rstd, *, out=None):
    """Gradients (dx, dgamma, dbeta) of layer_norm given dy and the forward's mean and rstd (into the
    out= buffers, each None or an array, when given).

    Arrays: dy and x float32 (..., C); gamma (C,) or None; mean, rstd (x.shape[:-1]) float32; numpy (CPU) or
    CuPy (GPU) on one device, results new arrays of that kind. Returns dx (x's shape), dgamma (C,), dbeta (C,),
    float32.
    """
    op = "layer_norm_backward"
    x = _x(op, x)
    dy = as_f32(op, "dy", dy)
    if dy.shape != x.shape:
        raise ValueError(f"{op}: dy must have the shape of x {tuple(x.shape)}, got {tuple(dy.shape)}")
    gamma = _affine(op, "gamma", gamma, x, 1.0)
    stats = []
    for name, a in (("mean", mean), ("rstd", rstd)):
        if tuple(getattr(a, "shape", np.shape(a))) != tuple(x.shape[:-1]):
            raise ValueError(f"{op}: {name} must have shape {tuple(x.shape[:-1])} (x.shape[:-1]), got {tuple(np.shape(a))}")
        # as_f32 makes 0-d arrays 1-d (ascontiguousarray does); a 1-d x has 0-d statistics.
        stats.append(as_f32(op, name, a).reshape(x.shape[:-1]))
    mean, rstd = stats
    return backend(op, dy, x, gamma, mean, rstd).layer_norm_backward(dy, x, gamma, mean, rstd, **out_kw(out))

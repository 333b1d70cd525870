"""Batch normalisation over every axis but `axis` (Keras BatchNormalization), forward and backward."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet.kernels._array import as_f32, backend


def _x(op, x):
    if np.ndim(x) == 0:  # checked first: as_f32 would make a scalar 1-d
        raise ValueError(f"{op}: x must have rank >= 1, got a scalar")
    return as_f32(op, "x", x)


def _axis(op, axis, x):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{op}: axis must be an int, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for x of shape {tuple(x.shape)}")
    return int(axis)


def _eps(op, epsilon):
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon >= 0:
        raise ValueError(f"{op}: epsilon must be a number >= 0, got {epsilon!r}")
    return float(epsilon)


def _vec(op, name, p, x, axis, fill=None):
    c = x.shape[axis]
    if p is None and fill is not None:  # Keras's scale=False / center=False
        xp = np if type(x).__module__.startswith("numpy") else __import__("cupy")
        return xp.full((c,), fill, dtype=np.float32)
    p = as_f32(op, name, p, ndim=1)
    if p.shape[0] != c:
        raise ValueError(f"{op}: {name} must have shape ({c},) to match x {tuple(x.shape)} on axis {axis}, "
                         f"got {tuple(p.shape)}")
    return p


def batch_norm(x, gamma, beta, *, axis: int = -1, epsilon: float = 1e-3):
    """Training-mode batch norm: y = (x - mean) / sqrt(var + epsilon) * gamma + beta with the batch's
    per-channel mean and biased variance over all axes but `axis`.

    Returns (y, mean, variance), the statistics shaped (C,). gamma or beta may be None.

    Arrays: x float32 of any shape (C order), gamma and beta (C,) float32 or None; numpy (CPU) or CuPy (GPU) on
    one device. Returns y (x's shape), mean (C,) and variance (C,) float32.
    """
    op = "batch_norm"
    x = _x(op, x)
    axis = _axis(op, axis, x)
    gamma, beta = _vec(op, "gamma", gamma, x, axis, 1.0), _vec(op, "beta", beta, x, axis, 0.0)
    return backend(op, x, gamma, beta).batch_norm(x, gamma, beta, axis, _eps(op, epsilon))


def batch_norm_inference(x, gamma, beta, mean, variance, *, axis: int = -1, epsilon: float = 1e-3):
    """Inference-mode batch norm with given (moving) statistics (C,).

    Arrays: x float32 of any shape (C order), mean, variance, gamma, beta (C,) float32 (gamma/beta may be
    None); numpy (CPU) or CuPy (GPU) on one device. Returns y float32 of x's shape.
    """
    op = "batch_norm_inference"
    x = _x(op, x)
    axis = _axis(op, axis, x)
    gamma, beta = _vec(op, "gamma", gamma, x, axis, 1.0), _vec(op, "beta", beta, x, axis, 0.0)
    mean, variance = _vec(op, "mean", mean, x, axis), _vec(op, "variance", variance, x, axis)
    return backend(op, x, gamma, beta, mean, variance).batch_norm_inference(x, gamma, beta, mean, variance, axis,
                                                                           _eps(op, epsilon))


def batch_norm_backward(dy, x, gamma, mean, variance, *, axis: int = -1, epsilon: float = 1e-3, training=True):
    """Gradients (dx, dgamma, dbeta). training=True: mean and variance were the batch's own (the
    forward was `batch_norm`); False: they were constants (`batch_norm_inference`), so dx = dy * gamma / std.

    Arrays: dy and x float32 of one shape (C order), gamma, mean, variance (C,) float32; numpy (CPU) or CuPy
    (GPU) on one device. Returns dx (x's shape), dgamma (C,), dbeta (C,) float32.
    """
    op = "batch_norm_backward"
    x = _x(op, x)
    dy = as_f32(op, "dy", dy)
    if dy.shape != x.shape:
        raise ValueError(f"{op}: dy must have the shape of x {tuple(x.shape)}, got {tuple(dy.shape)}")
    axis = _axis(op, axis, x)
    gamma = _vec(op, "gamma", gamma, x, axis, 1.0)
    mean, variance = _vec(op, "mean", mean, x, axis), _vec(op, "variance", variance, x, axis)
    return backend(op, dy, x, gamma, mean, variance).batch_norm_backward(dy, x, gamma, mean, variance, axis,
                                                                        _eps(op, epsilon), bool(training))

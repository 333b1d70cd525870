"""Batch normalisation over every axis but `axis` (Keras BatchNormalization), forward and backward.

Every function takes out=: buffers for its outputs (a tuple, each None or an array; one array for
batch_norm_inference) that the kernel writes into and returns.
"""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, channel_fill, index, out_kw, real


# The rules (axis in range, every per-channel vector (C,), dy's shape, epsilon >= 0) are the family's contract
# in C++ (csrc/bindings/contracts/batchnorm.h), shared by both devices; here only conversion and dispatch.
def _vec(op, name, p, x, axis, fill=None):
    p = channel_fill(x, axis, p, fill) if fill is not None else p
    return as_f32(op, name, p)


def batch_norm(x, gamma, beta, *, axis: int = -1, epsilon: float = 1e-3, out=None):
    """Training-mode batch norm: y = (x - mean) / sqrt(var + epsilon) * gamma + beta with the batch's
    per-channel mean and biased variance over all axes but `axis`.

    Returns (y, mean, variance), the statistics shaped (C,). gamma or beta may be None. out: (y, mean,
    variance) buffers, each None or an array.

    Arrays: x float32 of any rank >= 1 (C order), gamma and beta (C,) float32 or None; numpy (CPU) or CuPy
    (GPU) on one device, results new arrays of that kind. Returns y (x's shape), mean (C,) and variance (C,)
    float32.
    """
    op = "batch_norm"
    x, axis, eps = as_f32(op, "x", x), index(op, "axis", axis), real(op, "epsilon", epsilon)
    gamma, beta = _vec(op, "gamma", gamma, x, axis, 1.0), _vec(op, "beta", beta, x, axis, 0.0)
    return backend(op, x, gamma, beta).batch_norm(x, gamma, beta, axis, eps, **out_kw(out))


def batch_norm_inference(x, gamma, beta, mean, variance, *, axis: int = -1, epsilon: float = 1e-3, out=None):
    """Inference-mode batch norm with given (moving) statistics (C,). out: a buffer for y.

    Arrays: x float32 of any rank >= 1 (C order), mean, variance, gamma, beta (C,) float32 (gamma/beta may be
    None); numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind. Returns y float32 of x's
    shape.
    """
    op = "batch_norm_inference"
    x, axis, eps = as_f32(op, "x", x), index(op, "axis", axis), real(op, "epsilon", epsilon)
    gamma, beta = _vec(op, "gamma", gamma, x, axis, 1.0), _vec(op, "beta", beta, x, axis, 0.0)
    mean, variance = _vec(op, "mean", mean, x, axis), _vec(op, "variance", variance, x, axis)
    return backend(op, x, gamma, beta, mean, variance).batch_norm_inference(x, gamma, beta, mean, variance, axis, eps,
                                                                           **out_kw(out))


def batch_norm_backward(dy, x, gamma, mean, variance, *, axis: int = -1, epsilon: float = 1e-3, training=True,
                        out=None):
    """Gradients (dx, dgamma, dbeta). training=True: mean and variance were the batch's own (the
    forward was `batch_norm`); False: they were constants (`batch_norm_inference`), so dx = dy * gamma / std.
    out: (dx, dgamma, dbeta) buffers, each None or an array.

    Arrays: dy and x float32 of one shape (C order), gamma (or None), mean, variance (C,) float32; numpy (CPU)
    or CuPy (GPU) on one device, results new arrays of that kind. Returns dx (x's shape), dgamma (C,), dbeta
    (C,) float32.
    """
    op = "batch_norm_backward"
    dy, x = as_f32(op, "dy", dy), as_f32(op, "x", x)
    axis, eps = index(op, "axis", axis), real(op, "epsilon", epsilon)
    gamma = _vec(op, "gamma", gamma, x, axis, 1.0)
    mean, variance = _vec(op, "mean", mean, x, axis), _vec(op, "variance", variance, x, axis)
    return backend(op, dy, x, gamma, mean, variance).batch_norm_backward(dy, x, gamma, mean, variance, axis, eps,
                                                                        bool(training), **out_kw(out))

"""Layer normalisation over the last axis (Keras LayerNormalization with axis=-1)."""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, channel_fill, out_kw, real


# The rules (x of rank >= 1, gamma/beta (C,), dy's shape, mean/rstd x.shape[:-1], epsilon >= 0) are the
# family's contract in C++ (csrc/bindings/contracts/layernorm.h), shared by both devices; here only conversion
# (None gamma/beta: Keras's scale=False / center=False) and dispatch.
def layer_norm(x, gamma, beta, *, epsilon: float = 1e-3, out=None):
    """y = (x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis.

    Returns (y, mean, rstd); mean and rstd (shape x.shape[:-1]) are what layer_norm_backward needs.
    gamma or beta may be None (no scale / no centre). out: (y, mean, rstd) buffers, each None or an array.

    Arrays: x float32 (..., C) of rank >= 1, C order; gamma, beta (C,) float32; numpy (CPU) or CuPy (GPU) on
    one device, results new arrays of that kind. Returns y (x's shape), mean and rstd (x.shape[:-1]), float32.
    """
    op = "layer_norm"
    x, eps = as_f32(op, "x", x), real(op, "epsilon", epsilon)
    gamma = as_f32(op, "gamma", channel_fill(x, -1, gamma, 1.0))
    beta = as_f32(op, "beta", channel_fill(x, -1, beta, 0.0))
    return backend(op, x, gamma, beta).layer_norm(x, gamma, beta, eps, **out_kw(out))


def layer_norm_backward(dy, x, gamma, mean, rstd, *, out=None):
    """Gradients (dx, dgamma, dbeta) of layer_norm given dy and the forward's mean and rstd (into the
    out= buffers, each None or an array, when given).

    Arrays: dy and x float32 (..., C); gamma (C,) or None; mean, rstd (x.shape[:-1]) float32; numpy (CPU) or
    CuPy (GPU) on one device, results new arrays of that kind. Returns dx (x's shape), dgamma (C,), dbeta (C,),
    float32.
    """
    op = "layer_norm_backward"
    dy, x = as_f32(op, "dy", dy), as_f32(op, "x", x)
    gamma = as_f32(op, "gamma", channel_fill(x, -1, gamma, 1.0))
    mean, rstd = as_f32(op, "mean", mean), as_f32(op, "rstd", rstd)
    return backend(op, dy, x, gamma, mean, rstd).layer_norm_backward(dy, x, gamma, mean, rstd, **out_kw(out))

"""Fused optimizer updates: one pass per weight over the weight and its slots, in place.

The weight and slot arrays are updated in place, so they are never copied: they must already be
float32, C-contiguous, writeable and of one shape. Only the gradient, which is read, is made
contiguous when it is not.
"""
from __future__ import annotations

import numbers

import numpy as np

from forgenet.kernels._array import as_f32, backend


def _inplace(op, name, a, shape):
    if not hasattr(a, "dtype") or not hasattr(a, "flags"):
        raise TypeError(f"{op}: {name} must be a numpy or CuPy array (it is updated in place), got {type(a).__name__}")
    if a.dtype != np.float32:
        raise TypeError(f"{op}: {name} must be float32, got {a.dtype}")
    if shape is not None and tuple(a.shape) != shape:
        raise ValueError(f"{op}: {name} must have the shape of var {shape}, got {tuple(a.shape)}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{op}: {name} must be C-contiguous (it is updated in place)")
    if not getattr(a.flags, "writeable", True):  # CuPy arrays have no such flag: always writeable
        raise ValueError(f"{op}: {name} must be writeable (it is updated in place)")
    return a


def _number(op, name, x):
    if not isinstance(x, numbers.Real) or isinstance(x, bool):
        raise TypeError(f"{op}: {name} must be a real number, got {x!r}")
    return float(x)


def _grad(op, grad, shape):
    grad = as_f32(op, "grad", grad)
    if tuple(grad.shape) != shape:
        raise ValueError(f"{op}: grad must have the shape of var {shape}, got {tuple(grad.shape)}")
    return grad


def adam_update(var, grad, m, v, vhat, alpha, beta_1, beta_2, epsilon):
    """One Adam step in place (Keras 3's formulas, float32, in this order):
    m += (grad - m)(1 - beta_1);  v += (grad^2 - v)(1 - beta_2);  vhat = max(vhat, v) and used for v
    unless vhat is None (amsgrad);  var -= m * alpha / (sqrt(v) + epsilon). Returns None.

    Arrays: var, m, v (and vhat) float32 of one shape, C-contiguous and writeable (updated in place); grad
    float32 of that shape (copied if not contiguous); numpy (CPU) or CuPy (GPU), one device.
    """
    op = "adam_update"
    var = _inplace(op, "var", var, None)
    shape = tuple(var.shape)
    grad = _grad(op, grad, shape)
    m, v = _inplace(op, "m", m, shape), _inplace(op, "v", v, shape)
    if vhat is not None:
        vhat = _inplace(op, "vhat", vhat, shape)
    args = [_number(op, n, x) for n, x in
            (("alpha", alpha), ("beta_1", beta_1), ("beta_2", beta_2), ("epsilon", epsilon))]
    backend(op, var, grad, m, v, vhat).adam_update(var, grad, m, v, vhat, *args)


def sgd_update(var, grad, m, learning_rate, momentum, nesterov):
    """One SGD step in place (Keras 3's formulas, float32, in this order): s = grad * learning_rate;
    without a momentum slot (m None; momentum must then be 0) var -= s; else m = m * momentum - s and
    var += m, or with nesterov var += m * momentum - s. Returns None.

    Arrays: var (and m) float32 of one shape, C-contiguous and writeable (updated in place); grad float32 of
    that shape; numpy (CPU) or CuPy (GPU), one device.
    """
    op = "sgd_update"
    var = _inplace(op, "var", var, None)
    shape = tuple(var.shape)
    grad = _grad(op, grad, shape)
    if m is not None:
        m = _inplace(op, "m", m, shape)
    lr, mom = _number(op, "learning_rate", learning_rate), _number(op, "momentum", momentum)
    backend(op, var, grad, m).sgd_update(var, grad, m, lr, mom, bool(nesterov))


def rmsprop_update(var, grad, v, avg, mom, learning_rate, rho, momentum, epsilon):
    """One RMSprop step in place (Keras 3's formulas, float32, in this order):
    v = v * rho + grad^2 * (1 - rho);  den = v + epsilon, or centered (avg not None)
    avg = avg * rho + grad * (1 - rho) and den = (v - avg^2) + epsilon;  inc = grad * learning_rate / sqrt(den);
    var -= inc, or with a momentum slot (mom not None; else momentum must be 0) mom = mom * momentum + inc
    and var -= mom. Returns None.

    Arrays: var, v (and avg, mom) float32 of one shape, C-contiguous and writeable (updated in place); grad
    float32 of that shape; numpy (CPU) or CuPy (GPU), one device.
    """
    op = "rmsprop_update"
    var = _inplace(op, "var", var, None)
    shape = tuple(var.shape)
    grad = _grad(op, grad, shape)
    v = _inplace(op, "v", v, shape)
    avg = None if avg is None else _inplace(op, "avg", avg, shape)
    mom = None if mom is None else _inplace(op, "mom", mom, shape)
    args = [_number(op, n, x) for n, x in
            (("learning_rate", learning_rate), ("rho", rho), ("momentum", momentum), ("epsilon", epsilon))]
    backend(op, var, grad, v, avg, mom).rmsprop_update(var, grad, v, avg, mom, *args)

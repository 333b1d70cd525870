"""Activations by their Keras names. Pointwise math stays in numpy (it is memory-bound and numpy's
loops are already vectorised); softmax runs on our kernel."""
from __future__ import annotations

import math

import numpy as np

from forgenet import kernels
from forgenet.autograd.tensor import Function, Tensor, array_module


def relu_inplace(y):
    """y = max(y, 0) in place on a fresh float32 output (one pass on the kernel); numpy's maximum for
    other dtypes and layouts."""
    if type(y) is np.ndarray and y.dtype == np.float32 and y.flags.c_contiguous and y.flags.writeable:
        return kernels.relu_(y)
    return array_module(y).maximum(y, 0.0, out=y)


def relu_grad(g, y):
    """g where the ReLU output y > 0: one pass on the kernel for float32 (numpy's `g * (y > 0)` makes a
    mask and a product array); other dtypes keep numpy's rule."""
    if g.dtype == np.float32 and y.dtype == np.float32 and g.shape == y.shape:
        return kernels.relu_backward(g, y)
    return g * (y > 0)


class _ReLU(Function):
    def forward(self, x):
        y = array_module(x).maximum(x, 0.0)
        self.save(y)
        return y

    def backward(self, g):
        return relu_grad(g, self.saved[0])


class _Sigmoid(Function):
    def forward(self, x):
        xp = array_module(x)
        # exp of -|x| only, so large inputs of either sign never overflow
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        return g * y * (1.0 - y)


class _Tanh(Function):
    def forward(self, x):
        y = array_module(x).tanh(x)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        return g * (1.0 - y * y)


def _erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32 resolution near 1): numpy has no erf
    # and scipy is not a dependency.
    xp = array_module(x)
    s = xp.sign(x)
    a = xp.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * xp.exp(-a * a))


class _GELU(Function):
    """Exact (erf) GELU, Keras's default (approximate=False)."""

    def forward(self, x):
        self.save(x)
        return (0.5 * x * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))))).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.saved[0]
        xp = array_module(x)
        cdf = 0.5 * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))))
        pdf = xp.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return (g * (cdf + x * pdf)).astype(g.dtype, copy=False)


class _Softmax(Function):
    keep_inputs = True

    def forward(self, x, axis):
        y = kernels.softmax(x, axis=axis)
        self.axis = axis
        self.save(y, axis)
        return y

    def backward(self, g):
        y, axis = self.saved
        return kernels.softmax_backward(g, y, axis=axis), None


def relu(x): return _ReLU.apply(x)
def sigmoid(x): return _Sigmoid.apply(x)
def tanh(x): return _Tanh.apply(x)
def gelu(x): return _GELU.apply(x)
def softmax(x, axis=-1): return _Softmax.apply(x, axis)
def linear(x): return x


def softmax_logits(t):
    """The logits a tensor was the last-axis softmax of, or None.

    Cross-entropy on probabilities uses them to take the fused, stable logits path (as Keras does
    with its `_keras_logits`), so `Dense(10, activation="softmax")` + a cross-entropy loss trains
    exactly like `from_logits=True`.
    """
    node = getattr(t, "_node", None)
    if isinstance(node, _Softmax) and node.axis in (-1, t.ndim - 1):
        return node.inputs[0]
    return None


_BY_NAME = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "gelu": gelu, "softmax": softmax,
            "linear": linear, None: linear}


def get_activation(name):
    """An activation by Keras name (or a callable, returned unchanged)."""
    if callable(name):
        return name
    key = name.lower() if isinstance(name, str) else name
    if key not in _BY_NAME:
        from forgenet import activations  # every other Keras activation (elu, swish, mish, ...)

        if isinstance(key, str) and key in activations._BY_NAME:
            return activations._BY_NAME[key]
        names = ", ".join(repr(k) for k in sorted((set(_BY_NAME) | set(activations._BY_NAME)) - {None}))
        raise ValueError(f"Unknown activation {name!r}; expected one of {names} or a callable")
    return _BY_NAME[key]


def activation_name(fn) -> str:
    for k, v in _BY_NAME.items():
        if v is fn and k:
            return k
    from forgenet import activations

    for k, v in activations._BY_NAME.items():
        if v is fn:
            return "silu" if k == "swish" else "hard_silu" if k == "hard_swish" else k
    return getattr(fn, "__name__", "custom")

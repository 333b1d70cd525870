"""Differentiable elementwise functions beyond + - * /: one Function per arity, the derivative given
with the forward, so each new function is a line (value, derivative) rather than a class."""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import Function, Tensor, array_module
from forgenet.functional.math import _as_operand, _shape, _unbroadcast


class _Unary(Function):
    """y = f(xp, x); dx = g * df(xp, x, y)."""

    def forward(self, x, f, df):
        xp = array_module(x)
        y = f(xp, x)
        if hasattr(y, "dtype") and y.dtype != x.dtype and x.dtype.kind == "f":
            y = y.astype(x.dtype)
        self.save(x, y, df)
        return y

    def backward(self, g):
        x, y, df = self.saved
        d = df(array_module(x), x, y)
        return (g * d).astype(g.dtype, copy=False), None, None


def unary(x, f, df):
    """Apply f elementwise to a Tensor (or array) with derivative df(xp, x, y)."""
    return _Unary.apply(x, f, df)


def _xp(x):
    return array_module(x.data if isinstance(x, Tensor) else x)


def _sig(xp, x):
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(xp, x):  # log(1 + e^x) without overflow
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def abs(x): return unary(x, lambda xp, a: xp.abs(a), lambda xp, a, y: xp.sign(a))
def square(x): return unary(x, lambda xp, a: a * a, lambda xp, a, y: 2 * a)
def log1p(x): return unary(x, lambda xp, a: xp.log1p(a), lambda xp, a, y: 1 / (1 + a))
def expm1(x): return unary(x, lambda xp, a: xp.expm1(a), lambda xp, a, y: y + 1)
def log2(x): return unary(x, lambda xp, a: xp.log2(a), lambda xp, a, y: 1 / (a * np.log(2.0)))
def log10(x): return unary(x, lambda xp, a: xp.log10(a), lambda xp, a, y: 1 / (a * np.log(10.0)))
def sin(x): return unary(x, lambda xp, a: xp.sin(a), lambda xp, a, y: xp.cos(a))
def cos(x): return unary(x, lambda xp, a: xp.cos(a), lambda xp, a, y: -xp.sin(a))
def tan(x): return unary(x, lambda xp, a: xp.tan(a), lambda xp, a, y: 1 + y * y)
def arcsin(x): return unary(x, lambda xp, a: xp.arcsin(a), lambda xp, a, y: 1 / xp.sqrt(1 - a * a))
def arccos(x): return unary(x, lambda xp, a: xp.arccos(a), lambda xp, a, y: -1 / xp.sqrt(1 - a * a))
def arctan(x): return unary(x, lambda xp, a: xp.arctan(a), lambda xp, a, y: 1 / (1 + a * a))
def sinh(x): return unary(x, lambda xp, a: xp.sinh(a), lambda xp, a, y: xp.cosh(a))
def cosh(x): return unary(x, lambda xp, a: xp.cosh(a), lambda xp, a, y: xp.sinh(a))
def arcsinh(x): return unary(x, lambda xp, a: xp.arcsinh(a), lambda xp, a, y: 1 / xp.sqrt(a * a + 1))
def arccosh(x): return unary(x, lambda xp, a: xp.arccosh(a), lambda xp, a, y: 1 / xp.sqrt(a * a - 1))
def arctanh(x): return unary(x, lambda xp, a: xp.arctanh(a), lambda xp, a, y: 1 / (1 - a * a))
def reciprocal(x): return unary(x, lambda xp, a: 1 / a, lambda xp, a, y: -y * y)
def rsqrt(x): return unary(x, lambda xp, a: 1 / xp.sqrt(a), lambda xp, a, y: -0.5 * y * y * y)
def softplus(x): return unary(x, _softplus, lambda xp, a, y: _sig(xp, a))
def softsign(x): return unary(x, lambda xp, a: a / (1 + xp.abs(a)), lambda xp, a, y: 1 / (1 + xp.abs(a)) ** 2)
def silu(x): return unary(x, lambda xp, a: a * _sig(xp, a),
                          lambda xp, a, y: _sig(xp, a) * (1 + a * (1 - _sig(xp, a))))
def log_sigmoid(x): return unary(x, lambda xp, a: -_softplus(xp, -a), lambda xp, a, y: _sig(xp, -a))
def relu6(x): return unary(x, lambda xp, a: xp.clip(a, 0, 6), lambda xp, a, y: (a > 0) & (a < 6))


def leaky_relu(x, negative_slope=0.2):
    s = float(negative_slope)
    return unary(x, lambda xp, a: xp.where(a >= 0, a, a * s), lambda xp, a, y: xp.where(a >= 0, 1.0, s))


def elu(x, alpha=1.0):
    al = float(alpha)
    return unary(x, lambda xp, a: xp.where(a > 0, a, al * xp.expm1(xp.minimum(a, 0))),
                 lambda xp, a, y: xp.where(a > 0, 1.0, al * xp.exp(xp.minimum(a, 0))))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(x):
    return unary(x, lambda xp, a: _SELU_SCALE * xp.where(a > 0, a, _SELU_ALPHA * xp.expm1(xp.minimum(a, 0))),
                 lambda xp, a, y: _SELU_SCALE * xp.where(a > 0, 1.0, _SELU_ALPHA * xp.exp(xp.minimum(a, 0))))


def celu(x, alpha=1.0):
    al = float(alpha)
    return unary(x, lambda xp, a: xp.maximum(a, 0) + al * xp.expm1(xp.minimum(a, 0) / al),
                 lambda xp, a, y: xp.where(a > 0, 1.0, xp.exp(xp.minimum(a, 0) / al)))


def hard_sigmoid(x):  # Keras 3: relu6(x + 3) / 6
    return unary(x, lambda xp, a: xp.clip(a / 6.0 + 0.5, 0, 1), lambda xp, a, y: ((a > -3) & (a < 3)) / 6.0)


def hard_silu(x):
    return unary(x, lambda xp, a: a * xp.clip(a / 6.0 + 0.5, 0, 1),
                 lambda xp, a, y: xp.where(a <= -3, 0.0, xp.where(a >= 3, 1.0, a / 3.0 + 0.5)))


def hard_tanh(x):
    return unary(x, lambda xp, a: xp.clip(a, -1, 1), lambda xp, a, y: (a > -1) & (a < 1))


def mish(x):
    def f(xp, a):
        return a * xp.tanh(_softplus(xp, a))

    def df(xp, a, y):
        t = xp.tanh(_softplus(xp, a))
        return t + a * (1 - t * t) * _sig(xp, a)
    return unary(x, f, df)


def gelu_tanh(x):
    """GELU's tanh approximation (keras.ops.gelu(approximate=True))."""
    c = float(np.sqrt(2.0 / np.pi))

    def f(xp, a):
        return 0.5 * a * (1 + xp.tanh(c * (a + 0.044715 * a ** 3)))

    def df(xp, a, y):
        t = xp.tanh(c * (a + 0.044715 * a ** 3))
        return 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * c * (1 + 3 * 0.044715 * a * a)
    return unary(x, f, df)


def clip(x, lo, hi):
    """Gradient passes where lo <= x <= hi (torch.clamp's rule)."""
    return unary(x, lambda xp, a: xp.clip(a, lo, hi), lambda xp, a, y: (a >= lo) & (a <= hi))


# ---- binary, broadcasting -----------------------------------------------------------------------
class _Binary(Function):
    """y = f(xp, a, b); da, db = g * dfa(xp, a, b, y), g * dfb(...), summed back to each input's shape."""

    def forward(self, a, b, f, dfs):
        xp = array_module(a if hasattr(a, "shape") else b)
        y = f(xp, a, b)
        self.save(a, b, y, dfs)
        return y

    def backward(self, g):
        a, b, y, (dfa, dfb) = self.saved
        xp = array_module(g)
        da = None if dfa is None else _unbroadcast((g * dfa(xp, a, b, y)).astype(g.dtype, copy=False), _shape(a))
        db = None if dfb is None else _unbroadcast((g * dfb(xp, a, b, y)).astype(g.dtype, copy=False), _shape(b))
        return da, db, None, None


def binary(a, b, f, dfa, dfb):
    return _Binary.apply(_as_operand(a, b), _as_operand(b, a), f, (dfa, dfb))


def maximum(a, b):  # ties go to a, as TensorFlow
    return binary(a, b, lambda xp, x, y: xp.maximum(x, y), lambda xp, x, y, o: x >= y, lambda xp, x, y, o: x < y)


def minimum(a, b):
    return binary(a, b, lambda xp, x, y: xp.minimum(x, y), lambda xp, x, y, o: x <= y, lambda xp, x, y, o: x > y)


def pow(a, b):
    """a ** b with both differentiable (b's gradient uses log a, 0 where a <= 0)."""
    return binary(a, b, lambda xp, x, y: xp.power(x, y), lambda xp, x, y, o: y * xp.power(x, y - 1),
                  lambda xp, x, y, o: o * xp.log(xp.where(x > 0, x, 1)))


def arctan2(a, b):
    return binary(a, b, lambda xp, x, y: xp.arctan2(x, y), lambda xp, x, y, o: y / (x * x + y * y),
                  lambda xp, x, y, o: -x / (x * x + y * y))


class _Where(Function):
    def forward(self, cond, a, b):
        xp = array_module(cond)
        self.save(cond, _shape(a), _shape(b))
        return xp.where(cond, a, b)

    def backward(self, g):
        cond, sa, sb = self.saved
        zero = g.dtype.type(0)
        xp = array_module(g)
        return None, _unbroadcast(xp.where(cond, g, zero), sa), _unbroadcast(xp.where(cond, zero, g), sb)


def where(cond, a, b):
    c = cond.data if isinstance(cond, Tensor) else cond
    return _Where.apply(_xp(a).asarray(c).astype(bool), _as_operand(a, b), _as_operand(b, a))

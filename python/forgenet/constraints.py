"""keras.constraints: projections applied to a weight after each optimizer update
(MaxNorm, NonNeg, UnitNorm, MinMaxNorm). `constraint(w)` returns the projected array."""
from __future__ import annotations

from forgenet.autograd.tensor import Tensor, array_module
from forgenet._object_table import ObjectTable

EPSILON = 1e-7


def _arr(w):
    return w.data if isinstance(w, Tensor) else w


def _norms(w, axis):
    xp = array_module(w)
    axis = tuple(axis) if isinstance(axis, list) else axis  # Keras configs hold lists (axis=[0, 1, 2])
    return xp.sqrt((w * w).sum(axis=axis, keepdims=True))


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale slices along `axis` whose L2 norm exceeds max_value down to it."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = _arr(w)
        n = _norms(w, self.axis)
        desired = array_module(w).clip(n, 0, self.max_value)
        return (w * (desired / (EPSILON + n))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        w = _arr(w)
        return w * (w >= 0.0).astype(w.dtype)


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _arr(w)
        return (w / (EPSILON + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms along `axis` moved towards [min_value, max_value] at `rate` (1.0: clipped into it)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = _arr(w)
        n = _norms(w, self.axis)
        desired = self.rate * array_module(w).clip(n, self.min_value, self.max_value) + (1 - self.rate) * n
        return (w * (desired / (EPSILON + n))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_TABLE = ObjectTable("constraint", "keras.constraints",
                     (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm),
                     {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm})
get, serialize, deserialize = _TABLE.get, _TABLE.serialize, _TABLE.deserialize


__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg", "unit_norm",
           "min_max_norm", "get", "serialize", "deserialize"]


# ---- which variable has which constraint (set by layers' add_weight, read by the optimizer) -----------------
import weakref  # noqa: E402

_ATTACHED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def attach(variable, constraint) -> None:
    _ATTACHED[variable] = constraint


def constraint_of(variable):
    return _ATTACHED.get(variable)

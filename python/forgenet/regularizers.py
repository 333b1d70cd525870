"""keras.regularizers: weight penalties added to the loss (L1, L2, L1L2, OrthogonalRegularizer).

Called on a weight (a Variable) a regularizer returns a scalar Tensor in the graph, so its gradient
reaches the weight when the penalty is added to the loss; on an array it returns a float array.
Layers expose their penalties through `layer._regularization_losses()` (see layers/base.py).
"""
from __future__ import annotations

import math

import numpy as np

from forgenet import ops
from forgenet._object_table import ObjectTable


def _check(cls, name, v):
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{cls}: value for {name} must be a non-negative finite float, got {name}={v!r}")
    return float(v)


def _f32(v):
    return float(np.float32(v))  # L1 and OrthogonalRegularizer keep (and write) Keras's float32 tensor value


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check(type(self).__name__, "l1", l1)
        self.l2 = _check(type(self).__name__, "l2", l2)

    def __call__(self, x):
        out = 0.0
        if self.l1:
            out = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            out = ops.add(out, ops.multiply(ops.sum(ops.square(x)), self.l2))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    def __init__(self, l1=0.01):
        self.l1 = _f32(_check("L1", "l1", l1))

    def __call__(self, x):
        return ops.multiply(ops.sum(ops.abs(x)), self.l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2=0.01):
        self.l2 = _check("L2", "l2", l2)

    def __call__(self, x):
        return ops.multiply(ops.sum(ops.square(x)), self.l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor * mean |cos| between distinct rows (mode="rows") or columns of a rank-2 weight."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _f32(_check("OrthogonalRegularizer", "factor", factor))
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: invalid value for argument `mode`; expected 'rows' or "
                             f"'columns', got mode={mode!r}")
        self.mode = mode

    def __call__(self, x):
        if len(ops.shape(x)) != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={ops.shape(x)}")
        if self.mode == "rows":
            x = ops.normalize(x, axis=1)
            product, size = ops.matmul(x, ops.transpose(x)), ops.shape(x)[0]
        else:
            x = ops.normalize(x, axis=0)
            product, size = ops.matmul(ops.transpose(x), x), ops.shape(x)[1]
        off = ops.multiply(product, 1.0 - ops.eye(size))
        pairs = size * (size - 1.0) / 2.0
        return ops.multiply(ops.sum(ops.abs(off)), self.factor * 0.5 / pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_TABLE = ObjectTable("regularizer", "keras.regularizers",
                     (L1, L2, L1L2, OrthogonalRegularizer, Regularizer),
                     {"l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer})
get, serialize, deserialize = _TABLE.get, _TABLE.serialize, _TABLE.deserialize


__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]

"""Operators on symbolic tensors (`x + y`, `2 * x`, `x[:, 0]`, `a @ b` on KerasTensors) as layers of
the functional graph, so that models written with them run as Keras runs them."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.layers.base import Layer

_FNS = {
    "add": lambda a, b: F.add(a, b),
    "subtract": lambda a, b: F.sub(a, b),
    "multiply": lambda a, b: F.mul(a, b),
    "divide": lambda a, b: F.div(a, b),
    "negative": lambda a: F.mul(a, -1.0),
    "power": lambda a, p: F.power(a, p),
    "matmul": lambda a, b: F.matmul(a, b),
    "get_item": lambda a, idx: a[idx],
}


class TensorOp(Layer):
    """One operator applied to its (symbolic or constant) arguments, in the order given."""

    input_dtype = None  # operands keep their dtypes

    def __init__(self, op, **kwargs):
        if op not in _FNS:
            raise ValueError(f"TensorOp: unknown op {op!r}; expected one of {sorted(_FNS)}")
        kwargs.setdefault("name", None)
        super().__init__(**kwargs)
        self.op = op

    def build(self, input_shape):
        self.built = True

    def _prepare(self, x):
        return x  # constants (scalars, index tuples) are operands as given

    def call(self, *args):
        return _FNS[self.op](*args)

    def get_config(self):
        return {**super().get_config(), "op": self.op}


def symbolic_op(name, *args):
    from forgenet.layers.base import _unique_name

    return TensorOp(name, name=_unique_name(name.title().replace("_", "")))(*args)

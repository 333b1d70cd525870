"""Operators on symbolic tensors (`x + y`, `2 * x`, `x[:, 0]`, `a @ b`, `ops.not_equal(ids, 0)` on
KerasTensors) as operations of the functional graph, so that models written with them run as Keras
runs them. Keras lists these under `model.operations` (and in the summary), not `model.layers`, and
names them as its ops: Add, Multiply, GetItem, NotEqual... in keras.src.ops.numpy."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor
from forgenet.layers.base import Layer


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _get_item(a, idx):
    return a[tuple(idx) if isinstance(idx, list) else idx]  # a key revived from JSON is a list


_FNS = {
    "add": lambda a, b: F.add(a, b),
    "subtract": lambda a, b: F.sub(a, b),
    "multiply": lambda a, b: F.mul(a, b),
    "divide": lambda a, b: F.div(a, b),
    "negative": lambda a: F.mul(a, -1.0),
    "power": lambda a, p: F.power(a, p),
    "matmul": lambda a, b: F.matmul(a, b),
    "get_item": _get_item,
    "not_equal": lambda a, b: Tensor(_data(a) != _data(b)),
    "equal": lambda a, b: Tensor(_data(a) == _data(b)),
}

# Keras's op class names (keras.src.ops.numpy) <-> ours
KERAS_OPS = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Divide": "divide",
             "TrueDivide": "divide", "Negative": "negative", "Power": "power", "Matmul": "matmul",
             "GetItem": "get_item", "NotEqual": "not_equal", "Equal": "equal"}
_KERAS_NAME = {"divide": "Divide", **{v: k for k, v in KERAS_OPS.items() if k != "TrueDivide" and v != "divide"}}


class TensorOp(Layer):
    """One operator applied to its (symbolic or constant) arguments, in the order given."""

    input_dtype = None  # operands keep their dtypes
    keras_module = "keras.src.ops.numpy"

    def __init__(self, op, fn=None, **kwargs):
        if op not in _FNS and fn is None:
            raise ValueError(f"TensorOp: unknown op {op!r}; expected one of {sorted(_FNS)} (or pass fn=)")
        super().__init__(**kwargs)
        self.op = op
        self._fn = fn or _FNS[op]

    @property
    def keras_class_name(self) -> str:
        return _KERAS_NAME.get(self.op) or "".join(w.title() for w in self.op.split("_"))

    def build(self, input_shape):
        self.built = True

    def _prepare(self, x):
        return x  # constants (scalars, index tuples) are operands as given

    def call(self, *args, **kwargs):
        kwargs.pop("training", None)  # Layer.__call__ offers it to any call taking **kwargs; ops take none
        return self._fn(*args, **kwargs)

    def get_config(self):
        return {"name": self.name, "op": self.op}

    def keras_serialized(self):
        """Keras's form of a built-in operator (as keras.src.ops.numpy writes it), or None for an op
        built on an arbitrary function, which only forgenet's own form can name."""
        if self.op not in _FNS or self._fn is not _FNS[self.op]:
            return None
        name = self.keras_class_name
        return {"module": self.keras_module, "class_name": name, "config": {"name": self.name},
                "registered_name": name}


def symbolic_op(name, *args):
    from forgenet.layers.base import _unique_name

    return TensorOp(name, name=_unique_name(_KERAS_NAME[name]))(*args)


def symbolic_call(fn, op_name, *args, **kwargs):
    """Record `fn(*args, **kwargs)` (a function of Tensors, e.g. a forgenet.ops function) as an operation
    of the functional graph when some argument is a KerasTensor - how keras.ops work on symbolic
    inputs. `op_name` (snake_case, as Keras names its ops) names it; a graph holding an op that is not
    one of the built-in operators runs and summarises, but its config cannot be rebuilt."""
    from forgenet.layers.base import _unique_name

    op = TensorOp(op_name, fn=None if op_name in _FNS else fn, name=None)
    object.__setattr__(op, "name", _unique_name(op.keras_class_name))
    return op(*args, **kwargs)


def from_keras_op(spec):
    """A TensorOp from a Keras op's serialized form ({"class_name": "NotEqual", "config": {"name": ...}})."""
    return TensorOp(KERAS_OPS[spec["class_name"]], name=spec.get("config", {}).get("name"))

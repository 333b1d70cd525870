"""Symbolic tensors and the call records that link them (Keras 3's KerasTensor, Node, KerasHistory).

Calling a layer on a `KerasTensor` computes nothing the user sees: it records a `Node` (the layer,
the call's arguments, the symbolic outputs) and returns `KerasTensor`s of the inferred shape. A
functional model is the graph of these Nodes, replayed on real Tensors when the model is called.
"""
from __future__ import annotations

import collections

import numpy as np

_kt_names = collections.defaultdict(int)


class KerasHistory(collections.namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])):
    """Which call (`operation._inbound_nodes[node_index]`) made a tensor, and which of its outputs it is."""

    __slots__ = ()


def standardize_dtype(dtype, who="Input", default="float32") -> str:
    if dtype is None:
        return default
    if hasattr(dtype, "name") and not isinstance(dtype, str):  # numpy dtypes and scalar types
        dtype = dtype.name
    elif isinstance(dtype, type):
        dtype = np.dtype(dtype).name
    try:
        name = np.dtype(str(dtype)).name
    except TypeError:
        raise ValueError(f"{who}: dtype must be a numpy/Keras dtype name such as 'float32' or 'int32', "
                         f"got {dtype!r}") from None
    return name


def standardize_shape(shape, who="Input") -> tuple:
    if shape is None:
        raise ValueError(f"{who}: a shape is required")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        out = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: shape must be a tuple of ints or None, got {shape!r}") from None
    if any(d is not None and d < 0 for d in out):
        raise ValueError(f"{who}: negative dimensions are not allowed, got shape {shape!r}")
    return out


class KerasTensor:
    """A symbolic tensor: shape (None for unknown sizes), dtype, name, and the Node that made it."""

    def __init__(self, shape, dtype="float32", name=None, sparse=False):
        self.shape = standardize_shape(shape, "KerasTensor")
        self.dtype = standardize_dtype(dtype, "KerasTensor")
        self.sparse = bool(sparse)
        if name is None:
            n = _kt_names["keras_tensor"]
            _kt_names["keras_tensor"] += 1
            name = "keras_tensor" if n == 0 else f"keras_tensor_{n}"
        self.name = name
        self._keras_history = None
        self._keras_mask = None  # a KerasTensor standing for the mask, when one travels with this tensor

    ndim = property(lambda self: len(self.shape))

    def __repr__(self):
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse={self.sparse}, "
                f"name={self.name}>")

    def __len__(self):
        raise TypeError("a symbolic KerasTensor has no len(); use .shape")

    def __iter__(self):
        raise TypeError("a symbolic KerasTensor cannot be iterated; it only describes a shape and dtype")

    def __bool__(self):
        raise TypeError("a symbolic KerasTensor has no truth value: it holds no data. Build the model and call "
                        "it on arrays to get values")

    def numpy(self):
        raise TypeError(f"{self.name} is a symbolic KerasTensor (made by Input or a layer called on one): it "
                        "holds no values. Build a Model from it and call the model on arrays")

    __array__ = numpy

    # operators and shape methods become recorded operations (Keras's ops on KerasTensors)
    def __add__(self, o): return _op("add", self, o)
    def __radd__(self, o): return _op("add", o, self)
    def __sub__(self, o): return _op("subtract", self, o)
    def __rsub__(self, o): return _op("subtract", o, self)
    def __mul__(self, o): return _op("multiply", self, o)
    def __rmul__(self, o): return _op("multiply", o, self)
    def __truediv__(self, o): return _op("divide", self, o)
    def __rtruediv__(self, o): return _op("divide", o, self)
    def __neg__(self): return _op("negative", self)
    def __pow__(self, p): return _op("power", self, p)
    def __matmul__(self, o): return _op("matmul", self, o)
    def __rmatmul__(self, o): return _op("matmul", o, self)
    def __getitem__(self, idx): return _op("get_item", self, idx)


def _op(name, *args):
    from forgenet.layers.op_layer import symbolic_op

    return symbolic_op(name, *args)


class Node:
    """One call of `operation` on symbolic arguments; wires itself into the operation's and its
    inputs' node lists and stamps a KerasHistory on each output (as Keras's Node does)."""

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=None):
        self.operation = operation
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.outputs = flatten(outputs) if outputs is not None else []
        for x in self.outputs:
            if not isinstance(x, KerasTensor):
                raise ValueError(f"{operation.name}: every output of a symbolic call must be a tensor, got "
                                 f"{type(x).__name__}")
        self.input_tensors = [x for x in flatten([self.call_args, self.call_kwargs]) if isinstance(x, KerasTensor)]
        operation._inbound_nodes.append(self)
        for kt in self.input_tensors:
            if kt._keras_history is not None:
                kt._keras_history.operation._outbound_nodes.append(self)
        index = len(operation._inbound_nodes) - 1
        for i, t in enumerate(self.outputs):
            t._keras_history = KerasHistory(operation, index, i)
        self.is_input = not self.input_tensors

    output_tensors = property(lambda self: self.outputs)

    @property
    def parent_nodes(self):
        out = []
        for kt in self.input_tensors:
            op, idx, _ = kt._keras_history
            out.append(op._inbound_nodes[idx])
        return out

    def fill_in(self, values: dict):
        """(args, kwargs) with each KerasTensor replaced by values[id(tensor)]."""
        def sub(x):
            return values[id(x)] if isinstance(x, KerasTensor) else x
        return map_structure(sub, self.call_args), map_structure(sub, self.call_kwargs)

    def __repr__(self):
        return f"<Node operation={self.operation.name}, id={id(self)}>"


# ---- nested structures (lists, tuples, dicts with sorted keys, as Keras's tree) -------------------
def flatten(x) -> list:
    out = []
    _flatten_into(x, out)
    return out


def _flatten_into(x, out):
    if isinstance(x, (list, tuple)):
        for item in x:
            if isinstance(item, (list, tuple, dict)):
                _flatten_into(item, out)
            else:
                out.append(item)
    elif isinstance(x, dict):
        for k in sorted(x):
            _flatten_into(x[k], out)
    else:
        out.append(x)


def map_structure(fn, x):
    if isinstance(x, dict):
        return {k: map_structure(fn, v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(map_structure(fn, v) for v in x))
    if isinstance(x, tuple):
        return tuple(map_structure(fn, v) for v in x)
    if isinstance(x, list):
        return [map_structure(fn, v) for v in x]
    return fn(x)


def pack_like(structure, flat: list):
    """Rebuild `structure` with the leaves taken in order from `flat` (the inverse of flatten)."""
    it = iter(flat)

    def rebuild(s):
        if isinstance(s, dict):
            filled = {k: rebuild(s[k]) for k in sorted(s)}
            return {k: filled[k] for k in s}
        if isinstance(s, (list, tuple)):
            items = [rebuild(v) for v in s]
            return tuple(items) if isinstance(s, tuple) else items
        return next(it)

    return rebuild(structure)


def any_symbolic(*items) -> bool:
    return any(isinstance(x, KerasTensor) for x in flatten(list(items)))

"""`Input` / `InputLayer` (Keras 3): the entry points of a functional model.

`Input(shape=(None, 16), dtype="int32", name="ids")` returns a symbolic `KerasTensor` of shape
(batch_size, None, 16); layers called on it record the graph that `Model(inputs, outputs)` runs.
"""
from __future__ import annotations

import numbers
import warnings

from forgenet.layers.base import Layer
from forgenet.layers.node import KerasTensor, Node, standardize_dtype, standardize_shape


class InputLayer(Layer):
    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        if "input_shape" in kwargs:
            warnings.warn("Argument `input_shape` is deprecated. Use `shape` instead.", stacklevel=2)
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        if kwargs:
            raise TypeError(f"InputLayer: unrecognized keyword arguments {sorted(kwargs)}")
        super().__init__(name=name)
        who = f"InputLayer '{self.name}'"
        if sparse:
            raise ValueError(f"{who}: sparse=True is not supported (forgenet has no sparse tensors)")
        if ragged:
            raise ValueError(f"{who}: ragged=True is not supported (forgenet has no ragged tensors)")
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(f"{who}: input_tensor must be a KerasTensor, got {type(input_tensor).__name__}")
            batch_shape = input_tensor.shape
            dtype = input_tensor.dtype if dtype is None else dtype
        else:
            if shape is not None and batch_shape is not None:
                raise ValueError(f"{who}: pass either shape or batch_shape, not both")
            if batch_size is not None and batch_shape is not None:
                raise ValueError(f"{who}: pass either batch_size or batch_shape, not both")
            if shape is None and batch_shape is None:
                raise ValueError(f"{who}: you must pass a `shape` argument")
            if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0):
                raise ValueError(f"{who}: batch_size must be a positive integer or None, got {batch_size!r}")
            if shape is not None:
                batch_shape = (batch_size,) + standardize_shape(shape, who)
        self._batch_shape = standardize_shape(batch_shape, who)
        if not self._batch_shape:
            raise ValueError(f"{who}: the shape must have a batch axis; got batch_shape {batch_shape!r}")
        self._dtype = standardize_dtype(dtype, who)
        self.sparse = self.ragged = False
        self.optional = bool(optional)
        if input_tensor is None:
            input_tensor = KerasTensor(self._batch_shape, dtype=self._dtype, name=self.name)
        self._input_tensor = input_tensor
        Node(self, (), {}, outputs=input_tensor)
        self.built = True

    def call(self):
        return None

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def input_dtype(self):
        return None if self._dtype != "float32" else "float32"

    def count_params(self) -> int:
        return 0

    def get_config(self):
        return {"batch_shape": list(self._batch_shape), "dtype": self._dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "batch_input_shape" in config and "batch_shape" not in config:  # Keras 2 files
            config["batch_shape"] = config.pop("batch_input_shape")
        config.pop("trainable", None)
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic tensor to build a functional model from (Keras's `keras.Input`)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, ragged=ragged,
                       batch_shape=batch_shape, name=name, input_tensor=tensor, optional=optional)
    return layer.output

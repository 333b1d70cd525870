"""`Sequential`: a plain stack of layers, each feeding the next (Keras 3).

As in Keras, a Sequential model whose input is known (an `Input(...)` first, a first layer with
`input_shape=`, or `build(shape)`) starts with an `InputLayer` and is built at once as a functional
graph of its layers: weights exist, `summary()` shows the shapes. Otherwise it builds on its first
call. Masks travel with the tensors from layer to layer (Layer.__call__), not through this class.
"""
from __future__ import annotations

import inspect

from forgenet.autograd.tensor import set_keras_mask
from forgenet.layers.base import Layer
from forgenet.layers.input_layer import InputLayer
from forgenet.layers.node import KerasTensor
from forgenet.models.model import Model


class Sequential(Model):
    """Sequential(layers=None, trainable=True, name=None)."""

    _mask_aware = True

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        object.__setattr__(self, "_functional", None)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if layers:
            self._maybe_rebuild()

    @property
    def layers(self) -> list:
        # the InputLayer at the bottom of the stack is not one of the model's layers (Keras)
        layers = list(self._layers)
        return layers[1:] if layers and isinstance(layers[0], InputLayer) else layers

    @property
    def input_dtype(self):
        if self._layers and isinstance(self._layers[0], InputLayer):
            return self._layers[0].input_dtype
        return self._layers[0].input_dtype if self._layers else "float32"

    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor) and isinstance(getattr(layer._keras_history, "operation", None),
                                                         InputLayer):
            layer = layer._keras_history.operation  # Sequential([Input(...), ...])
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.name}.add: expected a Layer instance, got {type(layer).__name__}: {layer!r}")
        if not self._layers and getattr(layer, "_input_shape_arg", None) is not None:
            self.add(InputLayer(shape=layer._input_shape_arg), rebuild=False)
        if any(layer is l for l in self._layers):
            raise ValueError(f"{self.name}.add: layer {layer.name!r} is already in the model")
        if any(layer.name == l.name for l in self._layers):
            raise ValueError(f"{self.name}.add: all layers must have unique names; {layer.name!r} is already used")
        if isinstance(layer, InputLayer) and self._layers and isinstance(self._layers[0], InputLayer):
            raise ValueError(f"Sequential model '{self.name}' has already been configured to use input shape "
                             f"{self._layers[0].batch_shape}. You cannot add a different Input layer to it.")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(f"{self.name}.add: an InputLayer can only be the first layer of a Sequential model")
        self._layers.append(layer)
        if rebuild:
            self._maybe_rebuild()
        else:
            self.built = False
            self._functional = None

    def pop(self, rebuild=True):
        if not self.layers:
            raise IndexError(f"{self.name}.pop: there are no layers to remove")
        layer = self._layers.pop()
        self.built = False
        self._functional = None
        self._build_input_shape = None
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        self.built = False
        self._functional = None
        if not self._layers:
            return
        first = self._layers[0]
        if isinstance(first, InputLayer) and len(self._layers) > 1:
            self.build(first.batch_shape)
        elif isinstance(first, Model) and len(self._layers) > 1 and getattr(first, "_build_input_shape", None):
            self.build(first._build_input_shape)

    def build(self, input_shape=None):
        if input_shape is None:
            if not self._layers or not isinstance(self._layers[0], InputLayer):
                raise ValueError(f"{self.name}.build: pass input_shape (e.g. (None, 28, 28, 1)) or give the first "
                                 "layer an input_shape")
            input_shape = self._layers[0].batch_shape
        try:
            shape = (None,) + tuple(None if d is None else int(d) for d in tuple(input_shape)[1:])
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}.build: input_shape must be a tuple of ints (batch first, may be None), "
                             f"got {input_shape!r}") from None
        if len(tuple(input_shape)) < 1:
            raise ValueError(f"{self.name}.build: invalid input_shape {input_shape!r}")
        if not self.layers:
            raise ValueError(f"{self.name}: cannot build a Sequential model without layers; add() some first")
        if isinstance(self._layers[0], InputLayer):
            if tuple(self._layers[0].batch_shape[1:]) != shape[1:]:
                raise ValueError(f"Sequential model '{self.name}' has already been configured to use input shape "
                                 f"{self._layers[0].batch_shape}. You cannot build it with input_shape {input_shape}")
        else:
            self._layers.insert(0, InputLayer(batch_shape=shape, dtype="float32"))
        inputs = self._layers[0].output
        x = inputs
        with self._placing_weights():
            for layer in self._layers[1:]:
                try:
                    x = layer(x)
                except (TypeError, ValueError) as e:
                    _explain_build_error(self, layer, x, e)
                    raise
        from forgenet.models.functional import Functional

        object.__setattr__(self, "_functional", Functional(inputs, x, name=f"{self.name}_graph"))
        self._build_input_shape = tuple(self._layers[0].batch_shape)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            set_keras_mask(inputs, mask)
        x = inputs
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    @property
    def inputs(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined inputs yet.")
        return self._functional.inputs

    @property
    def outputs(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined outputs yet.")
        return self._functional.outputs

    @property
    def input(self):
        return self.inputs[0]

    @property
    def output(self):
        return self.outputs[0]

    @property
    def input_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape yet.")
        return self._functional.input_shape

    @property
    def output_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output shape yet.")
        return self._functional.output_shape

    def get_config(self):
        """Keras's Sequential config: an InputLayer entry for the built input shape, then the layers."""
        from forgenet.saving.serialization_lib import DTYPE_POLICY, serialize_keras_object

        # the InputLayer is serialized as the first layer, as Keras writes it
        layers = [serialize_keras_object(l) for l in self._layers]
        if self._functional is not None and len(layers) > 1 and isinstance(layers[1].get("config"), dict):
            layers[1]["config"].pop("input_shape", None)  # the InputLayer entry holds it
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": dict(DTYPE_POLICY), "layers": layers}
        if self._functional is not None:
            cfg["build_input_shape"] = list(self._layers[0].batch_shape)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from forgenet.models.functional import deserialize_any
        from forgenet.saving.limits import checked_shape
        from forgenet.saving.serialization_lib import dtype_name

        who = f"{cls.__name__}.from_config"
        if not isinstance(config, dict):
            raise TypeError(f"{who}: config must be a dict, got {type(config).__name__}")
        if not isinstance(config.get("layers"), list):
            raise ValueError(f"{who}: a Sequential config must have 'name' and 'layers' (a list of layer configs), "
                             f"got keys {sorted(config)}")
        dtype_name(config.get("dtype"), who)
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for lc in config["layers"]:
            model.add(deserialize_any(lc, custom_objects), rebuild=False)
        model._maybe_rebuild()
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(checked_shape(shape, who))
        return model


def _explain_build_error(model, layer, x, error):
    """Keras's message for a layer that cannot be one step of a stack (several required inputs)."""
    if not isinstance(error, TypeError):
        return
    params = [p for p in inspect.signature(layer.call).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in params if p.default is p.empty]
    if not params:
        raise ValueError(f"Layers added to a Sequential model should have a single positional argument, the "
                         f"input tensor. Layer {type(layer).__name__} has no positional arguments.") from error
    if len(required) > 1:
        raise ValueError(f"Layers added to a Sequential model can only have a single required positional "
                         f"argument, the input tensor. Layer {type(layer).__name__} has multiple required "
                         f"positional arguments: {[p.name for p in required]}") from error
    raise ValueError(f"{model.name}.build: could not build layer '{layer.name}' on an input of shape {x.shape}: "
                     f"{error}") from error

"""`Sequential`: a plain stack of layers, each feeding the next (Keras 3)."""
from __future__ import annotations

from forgenet.layers.base import Layer
from forgenet.models.model import Model, _full_shape, _zeros


class Sequential(Model):
    """Sequential(layers=None, name=None). Built as soon as the first layer has an `input_shape`
    (as Keras does with its implicit Input), otherwise on the first call or fit."""

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._out_shape = None  # output shape of the stack built so far, batch dim None
        for layer in layers or []:
            self.add(layer)

    @property
    def input_dtype(self):
        return self._layers[0].input_dtype if self._layers else "float32"

    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.name}.add: expected a Layer instance, got {type(layer).__name__}: {layer!r}")
        if any(layer is l for l in self._layers):
            raise ValueError(f"{self.name}.add: layer {layer.name!r} is already in the model")
        names = {l.name for l in self._layers}
        if layer.name in names:
            raise ValueError(f"{self.name}.add: all layers must have unique names; {layer.name!r} is already used")
        self._layers.append(layer)
        if len(self._layers) == 1 and _known_input(layer) is not None:
            self.build((None,) + _known_input(layer))
        elif self.built and self._out_shape is not None:
            self._extend(layer, self._out_shape)

    def pop(self):
        if not self._layers:
            raise IndexError(f"{self.name}.pop: there are no layers to remove")
        layer = self._layers.pop()
        if not self._layers:
            self.built, self._out_shape = False, None
            self._build_input_shape = None
        elif self.built:
            last = self._layers[-1]._output_shape
            self._out_shape = None if last is None else (None,) + tuple(last[1:])
        return layer

    def _extend(self, layer, shape):
        """Run a freshly added layer on one zero sample of the current output shape (this builds it)."""
        out = layer(_zeros(shape, layer.input_dtype if layer.input_dtype else None), training=False)
        self._out_shape = (None,) + tuple(out.shape[1:])

    def build(self, input_shape=None):
        if input_shape is None:
            if not self._layers or _known_input(self._layers[0]) is None:
                raise ValueError(f"{self.name}.build: pass input_shape (e.g. (None, 28, 28, 1)) or give the first "
                                 "layer an input_shape")
            input_shape = (None,) + _known_input(self._layers[0])
        shape = _full_shape(self.name, input_shape)
        if not self._layers:
            raise ValueError(f"{self.name}: cannot build a Sequential model without layers; add() some first")
        self._build_input_shape = shape
        self.built = True
        with self._placing_weights():
            x = _zeros(shape, self.input_dtype)
            for layer in self._layers:
                x = layer(x, training=False)
        self._out_shape = (None,) + tuple(x.shape[1:])

    def call(self, inputs, training=None):
        # Keras's mask propagation: a mask (e.g. Embedding(mask_zero=True)'s) goes to the next layer
        # that takes `mask=`; layers without compute_mask pass it on if they support masking, else end it
        x, mask = inputs, None
        for layer in self._layers:
            kw = {"mask": mask} if mask is not None and layer._accepts("mask") else {}
            y = layer(x, training=training, **kw)
            if hasattr(layer, "compute_mask"):
                mask = layer.compute_mask(x, mask)
            elif not layer.supports_masking:
                mask = None
            x = y
        return x

    @property
    def input_shape(self):
        if self._build_input_shape is None:
            raise AttributeError(f"{self.name} has not been built, so its input shape is unknown")
        return self._build_input_shape

    @property
    def output_shape(self):
        if self._out_shape is None:
            raise AttributeError(f"{self.name} has not been built, so its output shape is unknown")
        return self._out_shape

    def get_config(self):
        """Keras's Sequential config: an InputLayer entry for the built input shape, then the layers."""
        from forgenet.saving.serialization_lib import DTYPE_POLICY, serialize_keras_object

        layers = []
        shape = self._build_input_shape
        has_input = bool(self._layers) and type(self._layers[0]).__name__ == "InputLayer"
        if shape is not None and not has_input:
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": {"batch_shape": list(shape), "dtype": "float32", "sparse": False,
                                      "ragged": False, "name": "input_layer", "optional": False},
                           "registered_name": None})
        for layer in self._layers:
            spec = serialize_keras_object(layer)
            if shape is not None and isinstance(spec.get("config"), dict):
                spec["config"].pop("input_shape", None)  # the InputLayer entry holds it
            layers.append(spec)
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": dict(DTYPE_POLICY), "layers": layers}
        if shape is not None:
            cfg["build_input_shape"] = list(shape)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from forgenet.saving.limits import checked_shape
        from forgenet.saving.serialization_lib import deserialize_keras_object, dtype_name

        who = f"{cls.__name__}.from_config"
        if not isinstance(config, dict):
            raise TypeError(f"{who}: config must be a dict, got {type(config).__name__}")
        dtype_name(config.get("dtype"), who)
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("build_input_shape")
        specs = config.get("layers", [])
        if not isinstance(specs, list):
            raise ValueError(f"{who}: 'layers' must be a list of layer configs")
        for spec in specs:
            if isinstance(spec, dict) and spec.get("class_name") == "InputLayer":
                inner = spec.get("config") or {}
                batch = inner.get("batch_shape", inner.get("batch_input_shape"))
                if batch is not None:
                    shape = checked_shape(batch, who)
                continue
            layer = deserialize_keras_object({**spec, "build_config": None} if isinstance(spec, dict) else spec,
                                             custom_objects, who=who)
            if not model._layers and shape is not None and getattr(layer, "_input_shape_arg", 0) is None:
                layer._input_shape_arg = tuple(shape[1:])  # as given to forgenet: the first layer's input_shape
            model.add(layer)
        if shape is not None and not model.built:
            model.build(checked_shape(shape, who))
        return model


def _known_input(layer):
    """The per-sample input shape a layer declares: its input_shape, or that of a built model."""
    if getattr(layer, "_input_shape_arg", None) is not None:
        return tuple(layer._input_shape_arg)
    if isinstance(layer, Model) and layer._build_input_shape is not None:
        return tuple(layer._build_input_shape[1:])
    return None

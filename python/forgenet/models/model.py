"""`Model`: a Layer that can be trained (Keras 3): the Trainer's compile / fit / evaluate / predict
(models/trainer.py), plus building, the device it runs on, summary and saving.

Subclass it and define `call` (or use `Sequential`). Training is eager: each step runs the forward
pass on Tensors (recording the graph), the loss, `loss.backward()`, and an in-place optimizer update.
"""
from __future__ import annotations

import contextlib

import numpy as np

from forgenet.layers.base import Layer, weight_device
from forgenet.models.trainer import Trainer


class Model(Trainer, Layer):
    def __new__(cls, *args, **kwargs):
        # Model(inputs, outputs) is a functional model (Keras 3)
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from forgenet.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from forgenet.models.functional import functional_from_config, revivable_as_functional

        if all(k in config for k in ("name", "layers", "input_layers", "output_layers")) and \
                revivable_as_functional(cls):
            return functional_from_config(cls, config, custom_objects)
        return cls(**config)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:  # a subclass calling super().__init__(inputs, outputs)
            from forgenet.models.functional import Functional, inject_functional

            inject_functional(self)
            Functional.__init__(self, *args, **kwargs)
            return
        super().__init__(**kwargs)  # Trainer, then Layer
        self._build_input_shape = None
        self._device = "cpu"

    # ---- building ------------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights by running the model once on a zero sample of `input_shape` (batch dim ignored);
        a list or dict of shapes for a model that takes several inputs."""
        if _is_shape_structure(input_shape):
            shapes = _map_shapes(lambda s: _full_shape(self.name, s), input_shape)
            self.built = True
            self._build_input_shape = shapes
            self(_map_shapes(lambda s: _zeros(s, self.input_dtype), shapes), training=False)
            return
        shape = _full_shape(self.name, input_shape)
        self.built = True
        self._build_input_shape = shape
        self(_zeros(shape, self.input_dtype), training=False)

    def __call__(self, *args, **kwargs):
        if self._build_input_shape is None and args and hasattr(args[0], "shape"):
            self._build_input_shape = (None,) + tuple(args[0].shape[1:])
        if self._device != "cpu" and args and isinstance(args[0], np.ndarray):  # host data follows the weights
            args = (self._xp.asarray(args[0]),) + args[1:]
        with self._placing_weights():
            return super().__call__(*args, **kwargs)

    @contextlib.contextmanager
    def _placing_weights(self):
        """Layers built in here (lazily, on their first call) create their weights on the model's device."""
        if self._device == "cpu":
            yield
            return
        token = weight_device.set(self._xp)
        try:
            yield
        finally:
            weight_device.reset(token)

    @property
    def layers(self) -> list:
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}: no layer named {name!r}; layers are {[l.name for l in self._layers]}")

    # ---- device --------------------------------------------------------------------------------
    @property
    def _xp(self):
        if self._device == "cpu":
            return np
        import cupy

        return cupy

    def to(self, device):
        """Move the weights (and optimizer state) to "cuda" or "cpu"; fit/predict then run there."""
        d = str(device).lower()
        if d in ("cuda", "gpu") or d.startswith("cuda:"):
            from forgenet import _cuda_backend

            try:  # CuPy, a build with CUDA kernels and a GPU, or an error that says which is missing
                _cuda_backend.module(f"{self.name}.to({device!r})")
            except ImportError:
                raise RuntimeError(f"{self.name}.to({device!r}): CuPy is not installed, so forgenet cannot run on "
                                   "the GPU (pip install forgenet[cuda])") from None
            import cupy

            xp, self._device = cupy, "cuda"
        elif d == "cpu":
            xp, self._device = np, "cpu"
        else:
            raise ValueError(f"{self.name}.to: device must be 'cpu' or 'cuda', got {device!r}")
        for w in self.weights:
            w.data = xp.asarray(w.numpy()) if xp is not np else w.numpy()
            w.grad = None
        if self.optimizer is not None and self.optimizer.built:
            self.optimizer._to(xp)
        return self

    @property
    def device(self) -> str:
        return self._device

    # ---- summary, saving -----------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        from forgenet.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def save(self, filepath, overwrite=True, include_optimizer=True):
        from forgenet.models.saving import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        from forgenet.models.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        from forgenet.models.saving import load_weights

        load_weights(self, filepath)

    def get_compile_config(self):
        if not self.compiled:
            return None
        from forgenet.saving.serialization_lib import compile_config

        return compile_config(self)

    def compile_from_config(self, config):
        from forgenet.saving.serialization_lib import compile_with_config

        compile_with_config(self, config, who=f"{self.name}.compile_from_config")

    def to_json(self, **kwargs):
        """The model's architecture as Keras's JSON (models.model_from_json reads it back)."""
        import json

        from forgenet.saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_build_config(self):
        if self._build_input_shape is None:
            return None
        return {"input_shape": list(self._build_input_shape)}


def _is_shape_structure(s) -> bool:
    return isinstance(s, dict) or (isinstance(s, (list, tuple)) and len(s) > 0
                                   and all(isinstance(t, (list, tuple, dict)) for t in s))


def _map_shapes(fn, s):
    if isinstance(s, dict):
        return {k: _map_shapes(fn, v) for k, v in s.items()}
    if _is_shape_structure(s):
        return type(s)(_map_shapes(fn, v) for v in s) if isinstance(s, tuple) else [_map_shapes(fn, v) for v in s]
    return fn(s)


def _full_shape(name, input_shape):
    try:
        shape = tuple(None if d is None else int(d) for d in input_shape)
    except TypeError:
        raise ValueError(f"{name}.build: input_shape must be a tuple of ints (batch first, may be None), "
                         f"got {input_shape!r}") from None
    if len(shape) < 1 or any(d is not None and d < 0 for d in shape):
        raise ValueError(f"{name}.build: invalid input_shape {input_shape!r}")
    if any(d is None for d in shape[1:]):
        raise ValueError(f"{name}.build: only the batch dimension may be None, got {input_shape!r}")
    return (None,) + shape[1:]


def _zeros(shape, dtype):
    """One zero sample: float32 for float layers, int64 ids where the first layer takes ids (input_dtype None)."""
    z = np.zeros((1,) + tuple(shape[1:]), np.int64 if dtype is None else dtype)
    xp = weight_device.get()
    return z if xp is None else xp.asarray(z)  # built inside a call on the GPU: probe there too

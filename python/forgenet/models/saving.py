"""Kept for forgenet 0.1's names: saving lives in forgenet.saving (Keras's formats and forgenet's own)."""
from __future__ import annotations

from forgenet.saving import load_model, load_weights, register_keras_serializable, save_model, save_weights
from forgenet.saving.fgn_file import FORMAT_VERSION, MODEL_FORMAT, WEIGHTS_FORMAT
from forgenet.saving.serialization_lib import (compile_config, compile_from_config, deserialize_keras_object,
                                               serialize_keras_object)


def register_serializable(package="Custom", name=None):
    """forgenet 0.1's name for forgenet.saving.register_keras_serializable."""
    return register_keras_serializable(package, name)


def serialize_layer(layer) -> dict:
    return serialize_keras_object(layer)


def deserialize_layer(spec, custom_objects=None, who="load_model"):
    from forgenet.layers.base import Layer

    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ValueError(f"{who}: a layer config must be a dict with 'class_name' and 'config', got {spec!r}")
    obj = deserialize_keras_object({"config": {}, **spec}, custom_objects, who=who)
    if not isinstance(obj, Layer):
        raise ValueError(f"{who}: {spec.get('class_name')!r} is not a layer class")
    return obj


__all__ = ["load_model", "save_model", "save_weights", "load_weights", "register_serializable", "serialize_layer",
           "deserialize_layer", "compile_config", "compile_from_config", "MODEL_FORMAT", "WEIGHTS_FORMAT",
           "FORMAT_VERSION"]

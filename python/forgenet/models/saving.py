"""Kept for forgenet 0.1's names: saving lives in forgenet.saving (Keras's formats and forgenet's own)."""
from __future__ import annotations

from forgenet.saving import load_model, load_weights, register_keras_serializable, save_model, save_weights
from forgenet.saving.fgn_file import FORMAT_VERSION, MODEL_FORMAT, WEIGHTS_FORMAT
from forgenet.saving.serialization_lib import (compile_config, compile_from_config, deserialize_keras_object,
                                               serialize_keras_object)


class _RegisteredView(dict):
    """forgenet 0.1's _REGISTERED (bare name -> class), kept as a view of the one registry."""

    def pop(self, name, *default):
        from forgenet.saving import object_registration as reg

        keys = [k for k in reg.GLOBAL_CUSTOM_OBJECTS if k.rsplit(">", 1)[-1] == name]
        if not keys:
            if default:
                return default[0]
            raise KeyError(name)
        obj = None
        for k in keys:
            obj = reg.GLOBAL_CUSTOM_OBJECTS.pop(k)
            reg.GLOBAL_CUSTOM_NAMES.pop(obj, None)
        return obj

    def __contains__(self, name):
        from forgenet.saving import object_registration as reg

        return any(k.rsplit(">", 1)[-1] == name for k in reg.GLOBAL_CUSTOM_OBJECTS)


_REGISTERED = _RegisteredView()


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

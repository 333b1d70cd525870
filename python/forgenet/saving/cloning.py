"""models.clone_model and models.model_from_json (Keras 3): a new model of the same architecture with fresh
weights, and a model from the JSON of model.to_json()."""
from __future__ import annotations

import json


def model_from_json(json_string, custom_objects=None):
    from forgenet.saving.serialization_lib import deserialize_keras_object

    try:
        config = json.loads(json_string)
    except (TypeError, ValueError, RecursionError) as e:
        raise ValueError(f"model_from_json: not a model's JSON ({type(e).__name__}: {e})") from None
    return deserialize_keras_object(config, custom_objects, who="model_from_json")


def _clone_layer(layer):
    from forgenet.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

    spec = serialize_keras_object(layer)
    spec.pop("build_config", None)
    spec.pop("compile_config", None)
    return deserialize_keras_object(spec, who="clone_model")


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """Same architecture, new layers with freshly initialised weights (not copied, as in Keras)."""
    from forgenet.models.model import Model
    from forgenet.models.sequential import Sequential

    if kwargs:
        raise TypeError(f"clone_model: unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model: expected a Model, got {type(model).__name__}")
    if input_tensors is not None or call_function is not None or recursive:
        raise NotImplementedError("clone_model: input_tensors, call_function and recursive=True are not supported")
    fn = clone_function or _clone_layer
    if isinstance(model, Sequential):
        new = Sequential(name=model.name, trainable=model.trainable)
        for layer in model.layers:
            if type(layer).__name__ != "InputLayer":
                new.add(fn(layer))
        if model.built and not new.built:
            new.build(model._build_input_shape)
        return new
    if clone_function is not None:
        raise NotImplementedError("clone_model: clone_function is supported for Sequential models only")
    new = _clone_layer(model)
    if model.built and not new.built and getattr(model, "_build_input_shape", None) is not None:
        new.build(model._build_input_shape)
    return new

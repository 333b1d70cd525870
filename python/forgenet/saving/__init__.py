"""forgenet.saving (keras.saving): Keras 3's `.keras` / `.weights.h5` files, forgenet's safetensors files,
the one registry of serialisable objects, and Keras's object (de)serialisation."""
from forgenet.saving.object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                                 get_registered_name, get_registered_object,
                                                 register_keras_serializable)
from forgenet.saving.saving_api import load_model, load_weights, save_model, save_weights
from forgenet.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = ["register_keras_serializable", "get_registered_object", "get_registered_name", "get_custom_objects",
           "custom_object_scope", "CustomObjectScope", "serialize_keras_object", "deserialize_keras_object",
           "save_model", "load_model", "save_weights", "load_weights"]

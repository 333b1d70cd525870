"""The one registry of serialisable objects (Keras 3's object_registration): layers, models, losses,
metrics, optimizers, initializers, activations and any user function or class, keyed by
"package>name". `custom_object_scope` adds objects for the duration of a `with` block (per thread)."""
from __future__ import annotations

import inspect
import threading

GLOBAL_CUSTOM_OBJECTS: dict[str, object] = {}
GLOBAL_CUSTOM_NAMES: dict[object, str] = {}
_scope = threading.local()


def _scope_stack() -> list:
    if not hasattr(_scope, "stack"):
        _scope.stack = []
    return _scope.stack


class CustomObjectScope:
    """`with CustomObjectScope({"MyLayer": MyLayer}):` makes those names resolvable by deserialisation."""

    def __init__(self, custom_objects=None):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(f"custom_object_scope: custom_objects must be a dict of name -> object, got "
                            f"{type(custom_objects).__name__}")
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        _scope_stack().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scope_stack().pop()
        return False


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict:
    """The global name -> object table (as in Keras, writable: entries added here resolve too)."""
    return GLOBAL_CUSTOM_OBJECTS


def scoped_objects() -> dict:
    """The objects of every open custom_object_scope, innermost last."""
    out = {}
    for d in _scope_stack():
        out.update(d)
    return out


def register_keras_serializable(package="Custom", name=None):
    """Class/function decorator: the object saves as "package>name" and loads without custom_objects."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without '>', got {package!r}")

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        if not isinstance(class_name, str) or not class_name:
            raise ValueError(f"register_keras_serializable: name must be a non-empty string, got {class_name!r}")
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError(f"register_keras_serializable: {arg.__name__} cannot be registered: it has no "
                             "get_config() method")
        registered = f"{package}>{class_name}"
        GLOBAL_CUSTOM_OBJECTS[registered] = arg
        GLOBAL_CUSTOM_NAMES[arg] = registered
        return arg

    return decorator


def get_registered_name(obj) -> str:
    """"package>name" for a registered object, else its __name__."""
    try:
        if obj in GLOBAL_CUSTOM_NAMES:
            return GLOBAL_CUSTOM_NAMES[obj]
    except TypeError:  # unhashable
        pass
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object for a name: open scopes first, then the global registry, custom_objects, module_objects."""
    scoped = scoped_objects()
    if name in scoped:
        return scoped[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    if isinstance(name, str) and ">" not in name:  # a file that predates the registration names the bare class
        hits = [v for k, v in GLOBAL_CUSTOM_OBJECTS.items() if k.rsplit(">", 1)[-1] == name]
        if len(hits) == 1:
            return hits[0]
    return None

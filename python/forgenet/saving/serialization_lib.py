"""Keras 3's object serialisation: `serialize_keras_object` / `deserialize_keras_object` in its dict
format {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}.

forgenet's built-in classes are written under Keras's public modules ("keras.layers", "keras.losses",
...) so that Keras reads forgenet's configs, and Keras's configs resolve to forgenet's classes by
class name. Resolution order for a name: open custom_object_scopes and the registry, the caller's
custom_objects, then the built-ins. Nothing here imports a module named in a config or runs code
from it: a Python lambda is refused unless safe_mode=False.
"""
from __future__ import annotations

import functools
import inspect
import marshal
import re
import threading
import types
import warnings

import numpy as np

from forgenet.saving import object_registration as reg

MAX_DEPTH = 100  # nested configs deeper than this are refused, not recursed into

_KERAS_MODULE = {"layers": "keras.layers", "models": "keras", "losses": "keras.losses", "metrics": "keras.metrics",
                 "optimizers": "keras.optimizers", "initializers": "keras.initializers"}
_MODULE_OVERRIDE = {"PositionEmbedding": "keras_hub.layers", "TokenAndPositionEmbedding": "keras_hub.layers"}
DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}

# Keras initializer classes -> forgenet initializer name and Keras's default config
_VS = {"seed": None, "input_axes": None, "output_axes": None}  # Keras 3.15's variance-scaling arguments
_INITIALIZERS = {
    "GlorotUniform": ("glorot_uniform", _VS), "GlorotNormal": ("glorot_normal", _VS),
    "HeNormal": ("he_normal", _VS), "HeUniform": ("he_uniform", _VS),
    "RandomNormal": ("random_normal", {"mean": 0.0, "stddev": 0.05, "seed": None}),
    "RandomUniform": ("random_uniform", {"minval": -0.05, "maxval": 0.05, "seed": None}),
    "Orthogonal": ("orthogonal", {"gain": 1.0, "seed": None}), "Zeros": ("zeros", {}), "Ones": ("ones", {}),
}
_INIT_CLASS = {name: cls for cls, (name, _) in _INITIALIZERS.items()}
_INIT_ALIASES = {"uniform": "random_uniform", "normal": "random_normal", "zero": "zeros", "one": "ones"}


class ConfigError(ValueError):
    """A config that cannot be turned into objects; already names the function and the object."""


def _err(who, msg):
    return ConfigError(f"{who}: {msg}")


def snake(name: str) -> str:
    s = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()


# ---- the built-in tables -----------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _builtin_tables() -> dict:
    import forgenet.layers as L
    import forgenet.losses as Lo
    import forgenet.metrics as Me
    import forgenet.models as Mo
    import forgenet.optimizers as Op
    from forgenet.layers.base import Layer
    from forgenet.losses.losses import Loss
    from forgenet.metrics.metrics import Metric
    from forgenet.optimizers.optimizer import Optimizer

    def classes(mod, base):
        return {n: c for n in dir(mod) if isinstance(c := getattr(mod, n), type) and issubclass(c, base)}

    layers = classes(L, Layer)
    layers.update(classes(Mo, Layer))
    try:  # the functional API's module, where it exists
        from forgenet.models import functional as fm

        layers.update(classes(fm, Layer))
    except ImportError:
        pass
    return {"layers": layers, "losses": classes(Lo, Loss), "metrics": classes(Me, Metric),
            "optimizers": classes(Op, Optimizer)}


def _builtin_kind(cls) -> str | None:
    for kind, table in _builtin_tables().items():
        if table.get(cls.__name__) is cls:
            return kind
    return None


# ---- serialize ---------------------------------------------------------------------------------
def serialize_keras_object(obj, _depth=0):
    """A JSON-ready description of obj (Keras 3's format)."""
    if _depth > MAX_DEPTH:
        raise ValueError(f"serialize_keras_object: the object nests deeper than {MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x, _depth + 1) for x in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        warnings.warn("serialize_keras_object: the object includes a lambda; loading it will need "
                      "safe_mode=False (it runs code from the file)", stacklevel=2)
        return {"class_name": "__lambda__", "config": {"value": _func_dump(obj)}}
    if isinstance(obj, KerasInitializer):
        return obj.serialize()
    if callable(obj) and not hasattr(obj, "get_config"):
        return _serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"serialize_keras_object: cannot serialize {type(obj).__name__} {obj!r}: it has no "
                        "get_config()")
    own_form = getattr(obj, "keras_serialized", None)  # an object Keras knows under another class (an op)
    if callable(own_form) and (special := own_form()) is not None:
        return special
    cls = type(obj)
    kind = _builtin_kind(cls)
    registered = reg.GLOBAL_CUSTOM_NAMES.get(cls)
    class_name = cls.__name__
    if registered or not kind:
        module = cls.__module__
    else:
        module = _MODULE_OVERRIDE.get(class_name) or _KERAS_MODULE[kind]
        from forgenet.models.model import Model

        if isinstance(obj, Model):
            module = "keras"  # keras.Sequential, keras.Model
            if class_name == "Model" and getattr(obj, "_is_functional", False):
                class_name = "Functional"
            if class_name == "Functional":  # not exported by Keras: it names its own module, as Keras writes it
                module, registered = "keras.src.models.functional", "Functional"
    out = {"module": module,
           "class_name": class_name, "config": serialize_keras_object(obj.get_config(), _depth + 1),
           "registered_name": registered}
    build = getattr(obj, "get_build_config", None)
    if build is not None and getattr(obj, "built", False):
        bc = build()
        if bc is not None:
            out["build_config"] = serialize_keras_object(bc, _depth + 1)
    cc = getattr(obj, "get_compile_config", None)
    if cc is not None:
        c = cc()
        if c is not None:
            out["compile_config"] = serialize_keras_object(c, _depth + 1)
    return out


def _serialize_function(fn):
    from forgenet.functional.activation import _BY_NAME

    registered = reg.GLOBAL_CUSTOM_NAMES.get(fn)
    if registered is None and any(v is fn for v in _BY_NAME.values()):
        name = next(k for k, v in _BY_NAME.items() if v is fn and k)
        return {"module": "keras.activations", "class_name": "function", "config": name,
                "registered_name": "function"}
    name = getattr(fn, "__name__", None)
    if name is None:
        raise TypeError(f"serialize_keras_object: cannot serialize the callable {fn!r} (no name)")
    return {"module": getattr(fn, "__module__", None), "class_name": "function", "config": name,
            "registered_name": registered or name}


def _func_dump(fn) -> str:
    import base64

    return base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")


def serialize_activation(fn):
    """An activation as it appears in a layer config: its Keras name, or a function dict."""
    from forgenet.functional.activation import _BY_NAME

    for k, v in _BY_NAME.items():
        if v is fn and k:
            return k
    if isinstance(fn, str):
        return fn
    return serialize_keras_object(fn)


def serialize_initializer(init):
    """An initializer as Keras writes it in a layer config: {"module": "keras.initializers", ...}."""
    if isinstance(init, KerasInitializer):
        return init.serialize()
    name = init if isinstance(init, str) else None
    if name is None:
        import forgenet.initializers as I

        name = next((k for k, f in I._BY_NAME.items() if f is init), None)
    if name is not None:
        name = _INIT_ALIASES.get(name.lower(), name.lower())
        if name in _INIT_CLASS:
            cls = _INIT_CLASS[name]
            config = {k: v for k, v in _INITIALIZERS[cls][1].items() if k not in ("input_axes", "output_axes")}
            return {"module": "keras.initializers", "class_name": cls, "config": config, "registered_name": None}
        return name
    return serialize_keras_object(init)


class KerasInitializer:
    """A Keras initializer with non-default arguments (RandomNormal(stddev=0.1), ...) as a forgenet
    initializer: callable on a shape, and serialises back to the same config."""

    def __init__(self, class_name, config):
        name, defaults = _INITIALIZERS[class_name]
        import forgenet.initializers as I

        fn = I.get(name)
        params = inspect.signature(fn).parameters
        kwargs = {}
        for k, v in config.items():
            if k == "seed":
                if v is not None:
                    warnings.warn(f"{class_name}: forgenet initializers draw from forgenet's generator "
                                  f"(forgenet.utils.set_random_seed); seed={v!r} is not used", stacklevel=3)
                continue
            if k not in defaults:
                raise ValueError(f"{class_name}: unknown initializer argument {k!r}")
            if v == defaults[k]:
                continue
            if k not in params:
                raise ValueError(f"{class_name}: forgenet does not support {k}={v!r} (only {defaults[k]!r})")
            kwargs[k] = v
        self.class_name, self.config = class_name, {**defaults, **config}
        self._fn = functools.partial(fn, **kwargs)

    def __call__(self, shape, dtype=None):
        return self._fn(shape)

    def get_config(self):
        return dict(self.config)

    def serialize(self):
        return {"module": "keras.initializers", "class_name": self.class_name, "config": self.get_config(),
                "registered_name": None}


# ---- deserialize -------------------------------------------------------------------------------
def _lookup(name, registered, custom_objects):
    for key in (registered, name):
        if not key:
            continue
        obj = reg.get_registered_object(key, custom_objects)
        if obj is not None:
            return obj
    return None


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, who="deserialize_keras_object",
                             _depth=0, **kwargs):
    """The object a serialize_keras_object dict (or a plain value) describes."""
    if kwargs:
        raise TypeError(f"{who}: unexpected keyword arguments {sorted(kwargs)}")
    if _depth > MAX_DEPTH:
        raise _err(who, f"the config nests deeper than {MAX_DEPTH} levels")
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        obj = _lookup(config, None, custom_objects)
        return obj if obj is not None else config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, custom_objects, safe_mode, who, _depth + 1) for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"{who}: could not parse config {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode, who, _depth + 1) for k, v in config.items()}
    class_name = config["class_name"]
    inner = config["config"] if config["config"] is not None else {}
    if not isinstance(class_name, str):
        raise _err(who, f"class_name must be a string, got {class_name!r}")
    special = _special(class_name, inner, safe_mode, who)
    if special is not _NOT_SPECIAL:
        return special
    registered = config.get("registered_name")
    module = config.get("module")
    if class_name == "function":
        return _function(inner, registered, module, custom_objects, who)
    if class_name == "DTypePolicy" or class_name == "FloatDTypePolicy":
        return dtype_name(config, who)
    if module == "keras.initializers" or class_name in _INITIALIZERS:
        if _lookup(class_name, registered, custom_objects) is None:
            return initializer_from_config(config, who)
    cls = _lookup(class_name, registered, custom_objects)
    if cls is None:
        cls = _builtin_class(class_name, module)
    if cls is None:
        if class_name == "Functional":
            raise _err(who, "this is a functional model (keras.Model(inputs, outputs)); it needs forgenet's functional "
                            "API (forgenet.Input), which this build does not have")
        hint = (f"register it with @forgenet.saving.register_keras_serializable() or pass "
                f"custom_objects={{'{class_name}': {class_name}}}")
        kind = {"keras.losses": "loss", "keras.metrics": "metric", "keras.optimizers": "optimizer",
                "keras.initializers": "initializer"}.get(module, "layer")
        raise _err(who, f"unknown {kind} class {class_name!r} (module {module!r}, registered as {registered!r}); "
                        f"{hint}")
    if isinstance(cls, types.FunctionType) or not isinstance(cls, type):
        return cls
    if not isinstance(inner, dict):
        raise _err(who, f"the config of {class_name} must be a dict, got {type(inner).__name__}")
    with reg.CustomObjectScope(custom_objects or {}), _SafeMode(safe_mode):
        try:
            obj = _from_config(cls, inner, custom_objects)
        except ConfigError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as e:
            raise _err(who, f"could not rebuild {class_name} {inner.get('name', '')!r} from its config "
                            f"({type(e).__name__}: {e}); a custom class needs get_config()/from_config() that "
                            "round-trip its constructor arguments") from e
        build = config.get("build_config")
        if build and not getattr(obj, "built", True):
            apply_build_config(obj, build, who)
        compile_cfg = config.get("compile_config")
        if compile_cfg and hasattr(obj, "compile"):
            compile_from_config(obj, compile_cfg, custom_objects, who)
    return obj


_NOT_SPECIAL = object()


def deserialize_model(config, custom_objects, safe_mode, who, path):
    """deserialize_keras_object for a saved model's config: what comes back must be a layer (a model),
    never the plain dict a damaged config without its class_name key passes through as."""
    from forgenet.layers.base import Layer

    obj = deserialize_keras_object(config, custom_objects, safe_mode=safe_mode, who=who)
    if not isinstance(obj, Layer):
        raise ValueError(f"{who}: {path}: the model config describes a {type(obj).__name__}, not a model")
    return obj


def _special(class_name, inner, safe_mode, who):
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=np.dtype(inner["dtype"]))
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__tuple__":
        return tuple(inner["value"])
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__lambda__":
        if _effective_safe_mode(safe_mode):
            raise _err(who, "the file holds a Python lambda, and loading it would run code from the file; "
                            "this is refused by default. If you trust the file, pass safe_mode=False")
        return _func_load(inner["value"])
    if class_name.startswith("__"):
        raise _err(who, f"unsupported special object {class_name!r}")
    return _NOT_SPECIAL


def _func_load(value):
    import base64

    code = marshal.loads(base64.b64decode(value.encode("ascii")))
    return types.FunctionType(code, globals())


_safe = threading.local()


class _SafeMode:
    """Keras's SafeModeScope: nested from_config calls (per thread) see the caller's safe_mode."""

    def __init__(self, safe_mode):
        self.safe_mode = bool(safe_mode)

    def __enter__(self):
        self.prev = getattr(_safe, "state", None)
        _safe.state = self.safe_mode if self.prev is None else (self.prev and self.safe_mode)

    def __exit__(self, *a):
        _safe.state = self.prev


def _effective_safe_mode(safe_mode):
    outer = getattr(_safe, "state", None)
    return bool(safe_mode) if outer is None else (outer and bool(safe_mode))


def _function(name, registered, module, custom_objects, who):
    if not isinstance(name, str):
        raise _err(who, f"a function config must be its name, got {name!r}")
    obj = _lookup(name, registered if registered != "function" else None, custom_objects)
    if obj is not None:
        return obj
    from forgenet.functional.activation import _BY_NAME

    if name in _BY_NAME:
        return name  # layer configs keep activations by name
    import forgenet.losses as Lo
    import forgenet.metrics as Me

    for mod in (Lo, Me):
        fn = getattr(mod, name, None)
        if isinstance(fn, types.FunctionType):
            return fn
    raise _err(who, f"unknown function {name!r} (module {module!r}); register it with "
                    f"@forgenet.saving.register_keras_serializable() or pass custom_objects={{'{name}': {name}}}")


def _builtin_class(class_name, module):
    tables = _builtin_tables()
    kinds = {"keras.layers": "layers", "keras.losses": "losses", "keras.metrics": "metrics",
             "keras.optimizers": "optimizers", "keras": "layers", "keras.models": "layers"}
    kind = kinds.get(module)
    if kind is None and isinstance(module, str):
        for prefix, k in (("keras.src.layers", "layers"), ("keras.src.models", "layers"), ("keras.src.losses", "losses"),
                          ("keras.src.metrics", "metrics"), ("keras.src.optimizers", "optimizers"),
                          ("keras.src.backend", "optimizers"), ("forgenet.layers", "layers"),
                          ("forgenet.models", "layers"), ("forgenet.losses", "losses"),
                          ("forgenet.metrics", "metrics"), ("forgenet.optimizers", "optimizers")):
            if module.startswith(prefix):
                kind = k
                break
    if kind is not None:
        return tables[kind].get(class_name)
    for table in tables.values():
        if class_name in table:
            return table[class_name]
    return None


def _from_config(cls, inner, custom_objects):
    params = inspect.signature(cls.from_config).parameters
    if "custom_objects" in params:
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def dtype_name(value, who="from_config"):
    """A layer's dtype from a config: None, a dtype name, or Keras's DTypePolicy dict; float32 only."""
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    if value in (None, "float32"):
        return value
    raise _err(who, f"only the float32 dtype policy is supported, got {value!r}")


def initializer_from_config(config, who="from_config"):
    """A layer's initializer from Keras's config: a forgenet name (default arguments) or a KerasInitializer."""
    if isinstance(config, str):
        return _INIT_ALIASES.get(config.lower(), config)
    class_name = config.get("class_name")
    inner = config.get("config") or {}
    if class_name not in _INITIALIZERS:
        import forgenet.initializers as I

        name = snake(class_name or "")
        if name in I._BY_NAME and not inner:
            return name
        raise _err(who, f"initializer {class_name!r} is not supported by forgenet (supported: "
                        f"{sorted(_INITIALIZERS)})")
    name, defaults = _INITIALIZERS[class_name]
    unknown = set(inner) - set(defaults)
    if unknown:
        raise _err(who, f"unknown arguments {sorted(unknown)} for initializer {class_name}")
    if all(inner.get(k, d) == d for k, d in defaults.items()):
        return name
    try:
        return KerasInitializer(class_name, inner)
    except ValueError as e:
        raise _err(who, str(e)) from None


# ---- layer configs -----------------------------------------------------------------------------
# Keras arguments forgenet's layers do not take, accepted only at the value that means "off".
_KERAS_OFF = {
    **{k: None for k in ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                          "bias_constraint", "recurrent_regularizer", "recurrent_constraint",
                          "embeddings_regularizer", "embeddings_constraint", "beta_regularizer",
                          "gamma_regularizer", "beta_constraint", "gamma_constraint", "quantization_config",
                          "lora_rank", "lora_alpha", "sliding_window", "flash_attention", "seed")},
    "rms_scaling": False, "use_gate": False, "zero_output_for_mask": False, "sparse": False, "ragged": False,
    "optional": False, "autocast": True,
}


def _init_params(cls) -> tuple[set, bool]:
    names, only_named = set(), True
    for c in cls.__mro__:
        init = c.__dict__.get("__init__")
        if init is None or c is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind is p.VAR_KEYWORD:
                if c.__module__.startswith("forgenet."):
                    continue  # forgenet's classes pass **kwargs up the chain, which refuses unknown ones
                only_named = False
            elif p.name != "self":
                names.add(p.name)
    return names, only_named


def layer_kwargs(cls, config, who=None) -> dict:
    """Constructor arguments for `cls` from a (forgenet or Keras) layer config: Keras's dtype policy
    and serialised initializers/activations converted, Keras-only arguments dropped at their 'off'
    value and refused otherwise."""
    who = who or f"{cls.__name__}.from_config"
    if not isinstance(config, dict):
        raise TypeError(f"{who}: config must be a dict, got {type(config).__name__}")
    cfg = dict(config)
    if "dtype" in cfg:
        cfg["dtype"] = dtype_name(cfg["dtype"], who)
    if "batch_input_shape" in cfg:
        shape = cfg.pop("batch_input_shape")
        if shape is not None:
            cfg["input_shape"] = list(shape)[1:]
    for k, v in list(cfg.items()):
        if k.endswith("_initializer") or k == "initializer":
            cfg[k] = initializer_from_config(v, who) if isinstance(v, (dict, str)) else v
        elif k in ("activation", "recurrent_activation") and isinstance(v, dict):
            cfg[k] = deserialize_keras_object(v, who=who)
    names, only_named = _init_params(cls)
    if only_named:
        for k in [k for k in cfg if k not in names]:
            if k in _KERAS_OFF and cfg[k] == _KERAS_OFF[k]:
                del cfg[k]
            elif k in _KERAS_OFF:
                raise _err(who, f"forgenet does not support {k}={cfg[k]!r} (only {_KERAS_OFF[k]!r})")
    return cfg


def apply_build_config(obj, build_config, who):
    """Keras's build_from_config: build(input_shape), or build(**shapes_dict) for a layer with named
    inputs (MultiHeadAttention); a merge layer's input_shape is a list of shapes."""
    if hasattr(obj, "build_from_config"):
        obj.build_from_config(build_config)
        return
    if not isinstance(build_config, dict):
        raise _err(who, f"build_config must be a dict, got {build_config!r}")
    if build_config.get("input_shape") is not None:
        obj.build(_checked_shapes(build_config["input_shape"], who))
    elif isinstance(build_config.get("shapes_dict"), dict):
        obj.build(**{k: _checked_shapes(v, who) for k, v in build_config["shapes_dict"].items()})
    else:
        shapes = {k: _checked_shapes(v, who) for k, v in build_config.items() if v is not None}
        obj.build(**shapes)
    obj.built = True


def _checked_shapes(shape, who):
    """One recorded shape, or a (possibly nested) list / dict of them, each checked by checked_shape."""
    from forgenet.saving.limits import checked_shape

    if shape is None:
        return None
    if isinstance(shape, dict):
        return {k: _checked_shapes(v, who) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple, dict)) or s is None
                                                          for s in shape) and any(s is not None for s in shape):
        return [_checked_shapes(s, who) for s in shape]
    return checked_shape(shape, who)


# ---- compile configs ---------------------------------------------------------------------------
def compile_from_config(model, cfg, custom_objects=None, who="compile_from_config"):
    """model.compile_from_config(cfg) where a subclass overrides it (as Keras calls it), else compile_with_config."""
    from forgenet.models.model import Model

    own = getattr(type(model), "compile_from_config", None)
    if own is not None and own is not getattr(Model, "compile_from_config", None):
        return model.compile_from_config(cfg)
    with reg.CustomObjectScope(custom_objects or {}):
        return compile_with_config(model, cfg, custom_objects, who)


def compile_with_config(model, cfg, custom_objects=None, who="compile_from_config"):
    """model.compile(...) from Keras's compile_config (optimizer/loss/metrics as serialised objects)."""
    if not isinstance(cfg, dict):
        raise _err(who, f"compile_config must be a dict, got {type(cfg).__name__}")
    args = {}
    opt = cfg.get("optimizer")
    if opt is not None:
        opt = deserialize_keras_object(_in_module(opt, "keras.optimizers"), custom_objects, who=who)
        if isinstance(opt, dict):
            raise _err(who, f"cannot rebuild the optimizer from {cfg.get('optimizer')!r}")
        args["optimizer"] = opt
    for key, module in (("loss", "keras.losses"), ("metrics", "keras.metrics"), ("loss_weights", None),
                        ("weighted_metrics", "keras.metrics")):
        v = cfg.get(key)
        if v is not None:
            args[key] = deserialize_keras_object(_in_module(v, module), custom_objects, who=who)
    for key in ("run_eagerly", "jit_compile", "steps_per_execution"):
        if key in cfg:
            args[key] = cfg[key]
    model.compile(**args)


def _in_module(spec, module):
    """Configs without a module (forgenet 0.1's files) resolve in the module their role implies
    (MeanSquaredError is a loss and a metric)."""
    if module is None:
        return spec
    if isinstance(spec, list):
        return [_in_module(s, module) for s in spec]
    if isinstance(spec, dict) and "class_name" in spec and spec.get("module") is None and spec["class_name"] != "function":
        return {**spec, "module": module}
    return spec


def compile_config(model) -> dict | None:
    """What compile() was given, in Keras's compile_config format; None when a user function in it has no
    name to save (the caller warns)."""
    if not getattr(model, "compiled", False):
        return None
    try:
        loss = None if model.loss is None else _serialize_loss(model.loss)
        metrics = [m if isinstance(m, str) else serialize_keras_object(m) for m in getattr(model, "_metric_ids", [])]
        opt = serialize_keras_object(model.optimizer) if model.optimizer is not None else None
    except TypeError:
        return None
    return {"optimizer": opt, "loss": loss, "loss_weights": None, "metrics": metrics, "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def _serialize_loss(loss):
    from forgenet.losses.losses import LossFunctionWrapper

    if isinstance(loss, LossFunctionWrapper):
        if loss.fn_kwargs:
            raise TypeError("a loss function with keyword arguments has no name to save")
        return serialize_keras_object(loss.fn)
    return serialize_keras_object(loss)

"""Core and activation layers (Keras 3): Lambda, Masking, Identity, ReLU, LeakyReLU, PReLU, ELU, Softmax."""
from __future__ import annotations

import base64
import importlib
import marshal
import numbers
import types
import warnings

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional import activations_extra as AX
from forgenet.layers.base import Layer
from forgenet.layers.weight_options import weight_options
from forgenet.layers.core import check_initializers, initializer_config


def _data(x):
    return x.data if isinstance(x, Tensor) else x


# ---- Lambda ----------------------------------------------------------------------------------------
def _serialize_fn(layer, fn):
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        closure = None if fn.__closure__ is None else [c.cell_contents for c in fn.__closure__]
        return {"class_name": "__lambda__",
                "config": {"code": base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii"),
                           "defaults": None if fn.__defaults__ is None else list(fn.__defaults__),
                           "closure": closure}}
    if callable(fn) and getattr(fn, "__qualname__", None) and "<locals>" not in fn.__qualname__:
        return {"class_name": "function", "config": fn.__qualname__, "module": fn.__module__}
    raise ValueError(f"{layer}: cannot serialize the function {fn!r}: expected a lambda or a module-level function")


def _deserialize_fn(layer, cfg, custom_objects, safe_mode):
    if isinstance(cfg, dict) and cfg.get("class_name") == "__lambda__":
        if safe_mode:
            raise ValueError(f"{layer}: requested the deserialization of a Lambda layer with a Python `lambda` inside "
                             "it. This carries a potential risk of arbitrary code execution and thus it is disallowed "
                             "by default. If you trust the source of the config, pass safe_mode=False to "
                             "from_config (as Keras).")
        inner = cfg["config"]
        code = marshal.loads(base64.b64decode(inner["code"]))
        closure = None
        if inner.get("closure") is not None:
            closure = tuple(types.CellType(v) for v in inner["closure"])
        defaults = None if inner.get("defaults") is None else tuple(inner["defaults"])
        return types.FunctionType(code, globals(), None, defaults, closure)
    if isinstance(cfg, dict) and cfg.get("class_name") == "function":
        name = cfg["config"]
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        obj = importlib.import_module(cfg["module"])
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj
    if callable(cfg):
        return cfg
    raise ValueError(f"{layer}: cannot deserialize the function config {cfg!r}")


class Lambda(Layer):
    """Wraps a function of Tensors as a layer (forgenet.ops / Tensor operators inside it differentiate).

    get_config stores a lambda's bytecode as Keras does; from_config refuses to rebuild it unless
    called with safe_mode=False, since loading bytecode can run arbitrary code."""

    supports_masking = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"{self.name}: function must be callable, got {function!r}")
        if mask is not None and not callable(mask):
            raise NotImplementedError(f"{self.name}: only a callable (or None) mask is supported, got {mask!r}")
        self.function, self.mask, self.arguments = function, mask, dict(arguments or {})
        self._output_shape_arg = output_shape

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        import inspect

        params = inspect.signature(self.function).parameters
        if "mask" in params:
            kwargs["mask"] = mask
        if "training" in params:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if callable(self.mask) else mask

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape_arg):
            return self._output_shape_arg(input_shape)
        if self._output_shape_arg is not None:
            return (input_shape[0],) + tuple(self._output_shape_arg)
        raise NotImplementedError(f"{self.name}: pass output_shape to infer the output shape without calling")

    def get_config(self):
        cfg = {**super().get_config(), "function": _serialize_fn(self.name, self.function),
               "arguments": self.arguments}
        if self._output_shape_arg is not None:
            out = self._output_shape_arg
            cfg["output_shape"] = _serialize_fn(self.name, out) if callable(out) else list(out)
        if self.mask is not None:
            cfg["mask"] = _serialize_fn(self.name, self.mask)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        config = dict(config)
        name = config.get("name", "lambda")
        config["function"] = _deserialize_fn(name, config["function"], custom_objects, safe_mode)
        for key in ("output_shape", "mask"):
            if isinstance(config.get(key), dict):
                config[key] = _deserialize_fn(name, config[key], custom_objects, safe_mode)
        return cls(**config)


# ---- Masking and Identity ---------------------------------------------------------------------------
class Masking(Layer):
    """Zeros the timesteps whose features all equal mask_value and masks them for later layers."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def _keep(self, inputs):
        x = _data(inputs)
        return array_module(x).any(x != self.mask_value, axis=-1, keepdims=True)

    def call(self, inputs):
        return inputs * self._keep(inputs).astype(np.float32)

    def compute_mask(self, inputs, mask=None):
        return self._keep(inputs)[..., 0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Identity(Layer):
    supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


# ---- activation layers -----------------------------------------------------------------------------
def _number(layer, arg, v, minimum=None, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or (minimum is not None and v < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"{layer}: {arg} must be a number{bound}, got {v!r}")
    return float(v)


class _Act(Layer):
    supports_masking = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_Act):
    """keras.activations.relu with max_value, negative_slope and threshold."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number(self.name, "max_value", max_value, 0.0, allow_none=True)
        self.negative_slope = _number(self.name, "negative_slope", negative_slope, 0.0)
        self.threshold = _number(self.name, "threshold", threshold, 0.0)

    def call(self, inputs):
        return AX.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Act):
    """x for x > 0, negative_slope * x otherwise (Keras 3 default slope 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 3 still takes the Keras 2 name, with a warning
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated, use `negative_slope` instead", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _number(self.name, "negative_slope", negative_slope, 0.0)

    def call(self, inputs):
        return AX.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Act):
    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(self.name, "alpha", alpha)

    def call(self, inputs):
        return AX.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(weight_options(alpha="alpha"), _Act):
    """relu(x) - alpha * relu(-x) with a learned alpha of shape input_shape[1:] (size 1 on shared_axes)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(alpha_regularizer=alpha_regularizer, alpha_constraint=alpha_constraint, **kwargs)
        check_initializers(self.name, alpha_initializer)
        self.alpha_initializer = alpha_initializer
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, numbers.Integral):
            self.shared_axes = [int(shared_axes)]
        else:
            self.shared_axes = [int(a) for a in shared_axes]
        self.alpha = None

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if not 1 <= a < len(input_shape):
                raise ValueError(f"{self.name}: shared_axes {self.shared_axes} out of range for input shape "
                                 f"{tuple(input_shape)} (axes count from 1)")
            shape[a - 1] = 1
        if None in shape:
            raise ValueError(f"{self.name}: the non-shared axes must have known sizes, got {tuple(input_shape)}")
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, name="alpha")
        self.built = True

    def call(self, inputs):
        return F.relu(inputs) - self.alpha * F.relu(-inputs)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": initializer_config(self.alpha_initializer),
                "shared_axes": self.shared_axes}


class Softmax(_Act):
    """Softmax over `axis` (an int or a tuple); masked positions (mask False) get -1e9 before and 0 after."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise ValueError(f"{self.name}: axis must be an int or a tuple of ints, got {axis!r}")

    def call(self, inputs, mask=None):
        keep = None
        if mask is not None:
            m = _data(mask)
            xp = array_module(m)
            m = xp.asarray(m)
            keep = (m > 0.5) if m.dtype != bool else m
            if keep.ndim > inputs.ndim:
                raise ValueError(f"{self.name}: the mask must be broadcastable to the inputs, got mask shape "
                                 f"{tuple(keep.shape)} for inputs {tuple(inputs.shape)}")
            keep = xp.broadcast_to(keep, inputs.shape).astype(np.float32)
            inputs = inputs * keep + (1.0 - keep) * np.float32(-1e9)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        rank = len(inputs.shape)
        axes = sorted({a % rank for a in axes})
        if len(axes) == 1:
            y = F.softmax(inputs, axis=axes[0])
        else:  # move the axes last, flatten them, softmax, and undo
            rest = [a for a in range(rank) if a not in axes]
            perm = rest + axes
            t = F.transpose(inputs, perm)
            moved = tuple(t.shape)
            t = F.reshape(t, moved[: len(rest)] + (-1,))
            t = F.reshape(F.softmax(t, axis=-1), moved)
            y = F.transpose(t, sorted(range(rank), key=perm.__getitem__))
        return y if keep is None else y * keep

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

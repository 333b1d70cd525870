"""The Layer base class: `build` creates weights from the input shape, `call` computes (Keras 3).

A layer's `call` is written with differentiable functions (`forgenet.functional`, Tensor operators,
other layers), so gradients come for free: a user subclass that composes layers with residual
connections trains with `fit` without a backward pass of its own.

Calling a layer on plain arrays runs it eagerly without recording a graph and returns arrays;
calling it on Tensors (as models do in training) returns Tensors.
"""
from __future__ import annotations

import contextvars
import inspect
import re
import threading
from collections import defaultdict

import numpy as np

from forgenet import initializers
from forgenet.autograd.tensor import Tensor, Variable, no_grad

_names = defaultdict(int)
_call_ctx = threading.local()

# The array module new weights go to: set by a Model on the GPU while it runs, so that layers it builds
# lazily (on their first call) create their weights there rather than on the host.
weight_device: contextvars.ContextVar = contextvars.ContextVar("weight_device", default=None)
# Set while a model is rebuilt from a file (forgenet.saving.limits.WeightBudget): add_weight charges it
# before allocating, so a config that declares more weights than the file holds fails early.
weight_budget: contextvars.ContextVar = contextvars.ContextVar("weight_budget", default=None)


def _unique_name(cls_name: str) -> str:
    # Keras's to_snake_case: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, LayerNormalization -> layer_normalization
    base = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", cls_name)
    base = re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()
    n = _names[base]
    _names[base] += 1
    return base if n == 0 else f"{base}_{n}"


def _shape_of(x):
    if isinstance(x, (list, tuple)):
        return [_shape_of(t) for t in x]
    return tuple(x.shape)


class Layer:
    # Array inputs are cast to this dtype at the layer boundary (Keras autocasts); None keeps them
    # (Embedding takes integer ids).
    input_dtype = "float32"
    # Keras: a layer that supports masking and has no compute_mask passes its input's mask on
    # (Dense, Dropout, ...); any other layer without compute_mask ends it.
    supports_masking = False

    def __init__(self, *, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if isinstance(dtype, dict):  # Keras's DTypePolicy config, as get_config() writes it
            dtype = (dtype.get("config") or {}).get("name")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"{type(self).__name__}: only dtype='float32' is supported, got {dtype!r}")
        object.__setattr__(self, "_layers", [])
        object.__setattr__(self, "_own_weights", [])
        self.name = name or _unique_name(type(self).__name__)
        self.trainable = trainable
        self.built = False
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._output_shape = None

    # sublayers assigned as attributes (or in lists) are tracked, as in Keras
    def __setattr__(self, key, value):
        if isinstance(value, Layer) and value is not self and value not in self._layers:
            self._layers.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                if isinstance(v, Layer) and v not in self._layers:
                    self._layers.append(v)
        object.__setattr__(self, key, value)

    # ---- to override ---------------------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def get_config(self) -> dict:
        from forgenet.saving.serialization_lib import DTYPE_POLICY

        cfg = {"name": self.name, "trainable": self.trainable, "dtype": dict(DTYPE_POLICY)}
        if self._input_shape_arg is not None:
            cfg["input_shape"] = list(self._input_shape_arg)
        return cfg

    @classmethod
    def from_config(cls, config: dict):
        from forgenet.saving.serialization_lib import layer_kwargs

        return cls(**layer_kwargs(cls, config))  # also takes Keras's configs (dtype policies, initializer dicts)

    # ---- weights -------------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True, name=None):
        shape = tuple(int(s) for s in (shape or ()))
        budget = weight_budget.get()
        if budget is not None:
            budget.charge(self.name, name, shape)
        init = initializers.get(initializer)
        value = np.asarray(init(shape), dtype=np.float32).reshape(shape)
        xp = weight_device.get()
        if xp is not None:  # built lazily inside a model that already lives on the GPU
            value = xp.asarray(value)
        v = Variable(value, name=f"{self.name}/{name or 'variable'}", trainable=trainable)
        self._own_weights.append(v)
        return v

    @property
    def weights(self) -> list[Variable]:
        out = list(self._own_weights)
        for layer in self._layers:
            out += [w for w in layer.weights if all(w is not o for o in out)]
        return out

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        out = [w for w in self._own_weights if w.trainable]
        for layer in self._layers:
            out += [w for w in layer.trainable_weights if all(w is not o for o in out)]
        return out

    @property
    def non_trainable_weights(self) -> list[Variable]:
        train = self.trainable_weights
        return [w for w in self.weights if all(w is not t for t in train)]

    trainable_variables = property(lambda self: self.trainable_weights)
    variables = property(lambda self: self.weights)

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(f"{self.name}: set_weights expected a list of {len(mine)} arrays "
                             f"(shapes {[w.shape for w in mine]}), got {len(weights)}")
        weights = [_weight_array(self.name, w, new) for w, new in zip(mine, weights)]  # numpy or CuPy as given
        for w, new in zip(mine, weights):
            if tuple(new.shape) != w.shape:
                raise ValueError(f"{self.name}: weight '{w.name}' expects shape {w.shape}, got {tuple(new.shape)}")
        for w, new in zip(mine, weights):
            w.assign(new)  # a float32 copy on the weight's device

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    @property
    def output_shape(self):
        if self._output_shape is None:
            raise AttributeError(f"{self.name} has not been called yet, so its output shape is unknown")
        return self._output_shape

    # ---- calling -------------------------------------------------------------------------------
    def _accepts(self, arg: str) -> bool:
        cache = type(self).__dict__.get("_call_args")
        if cache is None:
            params = inspect.signature(self.call).parameters
            cache = set(params) | ({"**"} if any(p.kind is p.VAR_KEYWORD for p in params.values()) else set())
            type.__setattr__(type(self), "_call_args", cache)
        return arg in cache or "**" in cache

    def _prepare(self, x):
        """Arrays in: cast to the layer's dtype; Tensors pass through."""
        if isinstance(x, Tensor) or x is None:
            return x
        if isinstance(x, (list, tuple)):
            return type(x)(self._prepare(t) for t in x)
        if not hasattr(x, "dtype"):
            x = np.asarray(x)
        if self.input_dtype and x.dtype != np.float32 and not type(x).__module__.startswith("cupy"):
            x = np.asarray(x, dtype=np.float32)
        return x

    def __call__(self, *args, training=None, **kwargs):
        if not args:
            raise TypeError(f"{self.name}: expected an input as the first argument")
        args = tuple(self._prepare(a) for a in args)
        # keyword arrays (e.g. MultiHeadAttention's value/key) are cast too; flags, masks and other
        # plain Python values pass through untouched
        kwargs = {k: self._prepare(v) if hasattr(v, "dtype") and "mask" not in k else v for k, v in kwargs.items()}
        eager = not any(isinstance(a, Tensor) for a in _flat(args) + _flat(list(kwargs.values())))
        # training is inherited from the enclosing layer's call when not given (Keras 3)
        outer = getattr(_call_ctx, "training", None)
        training = outer if training is None else bool(training)
        if not self.built:
            self.build(_shape_of(args[0]))
            self.built = True
        if self._accepts("training"):
            kwargs["training"] = bool(training)
        _call_ctx.training = training
        try:
            if eager:
                with no_grad():
                    wrapped = [_wrap(a) for a in args]
                    out = self.call(*wrapped, **{k: _wrap(v) for k, v in kwargs.items()})
                out = _unwrap(out)
            else:
                out = self.call(*args, **kwargs)
        finally:
            _call_ctx.training = outer
        self._output_shape = _shape_of(out)
        return out

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _weight_array(layer, w, new):
    """A numeric array for set_weights: None, objects, strings, bools and complex values are refused
    rather than cast (np.asarray would make an object array that float32 casting turns into garbage)."""
    if new is None:
        raise TypeError(f"{layer}: set_weights got None for weight '{w.name}'; expected an array of shape {w.shape}")
    if not hasattr(new, "shape") or not hasattr(new, "dtype"):
        try:
            new = np.asarray(new)
        except (ValueError, TypeError) as e:
            raise TypeError(f"{layer}: set_weights got a value for weight '{w.name}' that is not an array ({e})") from None
    kind = np.dtype(new.dtype).kind
    if kind not in "fiu":
        raise TypeError(f"{layer}: set_weights expects a float (or integer) array for weight '{w.name}', got dtype "
                        f"{new.dtype}")
    return new


def _flat(items):
    out = []
    for t in items:
        out += _flat(t) if isinstance(t, (list, tuple)) else [t]
    return out


def _wrap(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(t) for t in x)
    return Tensor(x) if hasattr(x, "shape") and not isinstance(x, Tensor) else x


def _unwrap(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(t) for t in x)
    return x.data if isinstance(x, Tensor) else x

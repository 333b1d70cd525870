"""Core layers: Dense, Activation, Flatten, Reshape, Dropout (Keras 3 names, arguments and defaults)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from forgenet import functional as F
from forgenet import initializers
from forgenet.layers.base import Layer
from forgenet.layers.weight_options import weight_options


# ---- helpers shared by the layers in this package --------------------------------------------------
def initializer_name(init):
    """A JSON-friendly name for an initializer given by name or as one of forgenet.initializers."""
    if isinstance(init, str):
        return init
    for name, fn in initializers._BY_NAME.items():
        if fn is init:
            return name
    return getattr(init, "__name__", "custom")


def initializer_config(init):
    """An initializer as it goes in a layer's config: Keras's serialised form ({"class_name": "GlorotUniform", ...})."""
    from forgenet.saving.serialization_lib import serialize_initializer

    return serialize_initializer(init)


def activation_config(fn):
    """An activation as it goes in a layer's config: its Keras name, or a registered function's dict."""
    from forgenet import activations
    from forgenet.saving.serialization_lib import serialize_activation

    # forgenet.activations' functions (elu, swish, ...) are not the saving registry's built-ins, yet
    # Keras writes them by name; swish/hard_swish are aliases Keras writes as silu/hard_silu.
    for k, v in activations._BY_NAME.items():
        if v is fn:
            return {"swish": "silu", "hard_swish": "hard_silu"}.get(k, k)
    return serialize_activation(fn)


def get_activation(layer, activation):
    try:
        return F.get_activation(activation)
    except ValueError as e:
        raise ValueError(f"{layer}: {e}") from None


def check_initializers(layer, *inits):
    for init in inits:
        try:
            initializers.get(init)
        except ValueError as e:
            raise ValueError(f"{layer}: {e}") from None


def positive_int(layer, arg, v) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
        raise ValueError(f"{layer}: {arg} must be a positive integer, got {v!r}")
    return int(v)


def check_rank(layer, shape, rank, what):
    if len(shape) != rank:
        raise ValueError(f"{layer}: expected input of rank {rank} {what}, got shape {tuple(shape)}")


def channels_last(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' is supported, got {data_format!r}")
    return "channels_last"


# ---- layers ----------------------------------------------------------------------------------------
class Dense(weight_options(kernel="kernel", bias="bias"), Layer):
    """activation(inputs @ kernel + bias) on the last axis; kernel (in, units), bias (units,)."""

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int(self.name, "units", units)
        self.activation = get_activation(self.name, activation)
        self.use_bias = bool(use_bias)
        check_initializers(self.name, kernel_initializer, bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel = self.bias = None

    def _check(self, shape):
        if len(shape) < 2:
            raise ValueError(f"{self.name}: expected input of rank >= 2 (batch, ..., features), got shape {tuple(shape)}")
        if self.kernel is not None and shape[-1] not in (None, self.kernel.shape[0]):
            raise ValueError(f"{self.name}: expected input with last dimension {self.kernel.shape[0]}, "
                             f"got shape {tuple(shape)}")

    def build(self, input_shape):
        self._check(input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"{self.name}: the last dimension of the input must be known, got shape {tuple(input_shape)}")
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs):
        self._check(inputs.shape)
        relu = self.activation is F.relu
        y = F.dense(inputs, self.kernel, self.bias if self.use_bias else None, relu=relu)
        return y if relu or self.activation is F.linear else self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activation_config(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": initializer_config(self.kernel_initializer),
                "bias_initializer": initializer_config(self.bias_initializer)}


class Activation(Layer):
    """Applies an activation by Keras name: relu, sigmoid, tanh, softmax, linear, gelu."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = get_activation(self.name, activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": activation_config(self.activation)}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1*d2*...), in channels_last (row-major) order."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = channels_last(self.name, data_format)

    def build(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"{self.name}: expected input of rank >= 1 (batch, ...), got shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        if inputs.ndim < 1:
            raise ValueError(f"{self.name}: expected input of rank >= 1 (batch, ...), got shape {tuple(inputs.shape)}")
        return F.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to target_shape (batch axis kept); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            self.target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: target_shape must be a tuple of ints, got {target_shape!r}") from None
        if any(d == 0 or d < -1 for d in self.target_shape) or self.target_shape.count(-1) > 1:
            raise ValueError(f"{self.name}: target_shape must hold positive sizes and at most one -1, "
                             f"got {self.target_shape}")

    def _resolve(self, input_shape):
        n = math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (n % known if -1 in self.target_shape else n != known):
            raise ValueError(f"{self.name}: cannot reshape input of shape {tuple(input_shape)} to "
                             f"(batch,) + {self.target_shape}: the number of elements per sample differs")
        return tuple(n // known if d == -1 else d for d in self.target_shape)

    def build(self, input_shape):
        if None not in input_shape[1:]:
            self._resolve(input_shape)
        self.built = True

    def call(self, inputs):
        return F.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape))

    def compute_output_shape(self, input_shape):
        if None in input_shape[1:]:
            return (input_shape[0],) + self.target_shape
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """Zeros a `rate` fraction of inputs while training (scaling the rest by 1/(1-rate)); identity otherwise.

    Masks come from forgenet's seeded generator (`forgenet.utils.set_random_seed`), or, when `seed`
    is given, from the layer's own generator seeded with it.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"{self.name}: rate must be a float between 0 and 1, got {rate!r}")
        if noise_shape is not None:
            raise ValueError(f"{self.name}: noise_shape is not supported, got {noise_shape!r}")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"{self.name}: seed must be an int or None, got {seed!r}")
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)
        self.noise_shape = None
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        return F.dropout(inputs, self.rate, self._rng)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": None}

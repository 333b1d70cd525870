"""Training-only noise layers (Keras 3): SpatialDropout1D/2D, GaussianNoise, GaussianDropout,
AlphaDropout. Identity unless called with training=True. Noise comes from forgenet's seeded generator
(`forgenet.utils.set_random_seed`) or, given `seed`, the layer's own generator seeded with it."""
from __future__ import annotations

import math
import numbers

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module
from forgenet.layers.base import Layer
from forgenet.layers.core import channels_last, check_rank
from forgenet.utils import get_rng


def _rate(layer, rate, what="rate"):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{layer}: {what} must be a float between 0 and 1, got {rate!r}")
    return float(rate)


def _seed(layer, seed):
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise ValueError(f"{layer}: seed must be an int or None, got {seed!r}")
    return None if seed is None else int(seed)


class _Noise(Layer):
    supports_masking = True

    def _init_seed(self, seed):
        self.seed = _seed(self.name, seed)
        self._rng = None if self.seed is None else np.random.default_rng(self.seed)

    def _gen(self):
        return self._rng if self._rng is not None else get_rng()

    def _like(self, inputs, a):
        """a (float32 numpy) on the inputs' device."""
        data = inputs.data if isinstance(inputs, Tensor) else inputs
        return array_module(data).asarray(a.astype(np.float32, copy=False))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class _SpatialDropout(_Noise):
    """Drops whole feature maps: one keep/drop draw per (sample, channel), kept ones scaled by 1/(1-rate)."""

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self.name, rate)
        self._init_seed(seed)

    def call(self, inputs, training=False):
        check_rank(self.name, inputs.shape, self.rank + 2,
                   "(batch, steps, channels)" if self.rank == 1 else "(batch, height, width, channels)")
        if not training or self.rate == 0.0:
            return inputs
        shape = (inputs.shape[0],) + (1,) * self.rank + (inputs.shape[-1],)
        if self.rate >= 1.0:
            return inputs * self._like(inputs, np.zeros(shape))
        keep = self._gen().random(shape, dtype=np.float32) >= self.rate
        return inputs * self._like(inputs, keep * np.float32(1.0 / (1.0 - self.rate)))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    rank = 1


class SpatialDropout2D(_SpatialDropout):
    rank = 2

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = channels_last(self.name, data_format)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GaussianNoise(_Noise):
    """Adds N(0, stddev^2) noise while training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or not stddev >= 0:
            raise ValueError(f"{self.name}: stddev must be a number >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        self._init_seed(seed)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0.0:
            return inputs
        noise = self._gen().standard_normal(tuple(inputs.shape), dtype=np.float32) * np.float32(self.stddev)
        return inputs + self._like(inputs, noise)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by N(1, rate / (1 - rate)) noise while training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self.name, rate)
        self._init_seed(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate)) if self.rate < 1.0 else math.inf
        noise = 1.0 + self._gen().standard_normal(tuple(inputs.shape), dtype=np.float32) * np.float32(stddev)
        return inputs * self._like(inputs, noise)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout for SELU networks: dropped units are set to SELU's negative saturation value and the
    result is affinely rescaled so that mean and variance are kept (Keras's formula)."""

    _ALPHA = 1.6732632423543772848170429916717
    _SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self.name, rate)
        if noise_shape is not None:
            try:
                self.noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
            except (TypeError, ValueError):
                raise ValueError(f"{self.name}: noise_shape must be a tuple of ints (or None entries), "
                                 f"got {noise_shape!r}") from None
        else:
            self.noise_shape = None
        self._init_seed(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        shape = tuple(inputs.shape)
        if self.noise_shape is not None:
            if len(self.noise_shape) != len(shape):
                raise ValueError(f"{self.name}: noise_shape {self.noise_shape} must have the input's rank "
                                 f"({len(shape)}), got input shape {shape}")
            shape = tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))
        alpha_p = -self._ALPHA * self._SCALE
        kept = (self._gen().random(shape, dtype=np.float32) >= self.rate).astype(np.float32)
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        # a * (x * kept + alpha_p * (1 - kept)) + b, with the mask as a constant
        return inputs * self._like(inputs, a * kept) + self._like(inputs, a * alpha_p * (1.0 - kept) + b)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}

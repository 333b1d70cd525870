"""keras.random: seeded draws (normal, uniform, randint, truncated_normal, dropout, shuffle, ...).

`seed` is as in Keras: None draws from forgenet's global generator (seeded by
`forgenet.utils.set_random_seed`), an int gives the same draw every call, and a `SeedGenerator`
advances its own state, so successive calls differ but a run repeats from the same seed.
"""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import Tensor
from forgenet.utils.random import get_rng


class SeedGenerator:
    """A stateful source of seeds (keras.random.SeedGenerator(seed=None))."""

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is None:
            seed = int(get_rng().integers(0, 2**31 - 1))
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(f"SeedGenerator: seed must be an int or None, got {seed!r}")
        self.seed = int(seed)
        self.name = name or "seed_generator"
        self._rng = np.random.default_rng(self.seed)

    def next(self) -> int:
        return int(self._rng.integers(0, 2**31 - 1))

    def get_config(self):
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _rng(seed) -> np.random.Generator:
    if seed is None:
        return get_rng()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise ValueError(f"forgenet.random: seed must be None, an int or a SeedGenerator, got {seed!r}")


def _dtype(dtype, default="float32"):
    return np.dtype(dtype or default)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return (_rng(seed).standard_normal(tuple(shape)) * stddev + mean).astype(_dtype(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _rng(seed).uniform(minval, maxval, tuple(shape)).astype(_dtype(dtype))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    return _rng(seed).integers(minval, maxval, tuple(shape)).astype(_dtype(dtype, "int32"))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws beyond two standard deviations redrawn (keras.random.truncated_normal)."""
    rng = _rng(seed)
    x = rng.standard_normal(tuple(shape))
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return (x * stddev + mean).astype(_dtype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None):
    z = np.asarray(logits.numpy() if isinstance(logits, Tensor) else logits, np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    rng = _rng(seed)
    out = np.stack([rng.choice(p.shape[-1], size=num_samples, p=row) for row in p.reshape(-1, p.shape[-1])])
    return out.reshape(z.shape[:-1] + (num_samples,)).astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability `rate`, scale the rest by 1 / (1 - rate); differentiable."""
    from forgenet.functional.math import mul

    if not 0 <= rate < 1:
        raise ValueError(f"forgenet.random.dropout: rate must be in [0, 1), got {rate!r}")
    shape = tuple(inputs.shape) if noise_shape is None else tuple(
        n if n is not None else s for n, s in zip(noise_shape, inputs.shape))
    keep = (_rng(seed).random(shape) >= rate).astype(np.float32) / np.float32(1 - rate)
    if isinstance(inputs, Tensor):
        return mul(inputs, keep)
    return (np.asarray(inputs) * keep).astype(np.asarray(inputs).dtype)


def shuffle(x, axis=0, seed=None):
    """A permutation of x along `axis` (differentiable on Tensors)."""
    from forgenet.functional.shape import take

    n = x.shape[axis]
    perm = _rng(seed).permutation(n)
    if isinstance(x, Tensor):
        return take(x, perm, axis=axis)
    return np.take(np.asarray(x), perm, axis=axis)


def gamma(shape, alpha, dtype=None, seed=None):
    return _rng(seed).gamma(alpha, 1.0, tuple(shape)).astype(_dtype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    return _rng(seed).binomial(counts, probabilities, tuple(shape)).astype(_dtype(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None):
    return _rng(seed).beta(alpha, beta, tuple(shape)).astype(_dtype(dtype))


__all__ = ["SeedGenerator", "normal", "uniform", "randint", "truncated_normal", "categorical", "dropout",
           "shuffle", "gamma", "binomial", "beta"]

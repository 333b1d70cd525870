"""Weight initializers by their Keras names (same formulas, so fresh models start alike)."""
from __future__ import annotations

import math

import numpy as np

from forgenet.utils.random import get_rng


def _fans(shape):
    # Keras: dense (in, out); conv (kh, kw, in, out) -> fan = receptive field * channels
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape):
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return get_rng().uniform(-limit, limit, shape).astype(np.float32)


def glorot_normal(shape):
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / max(fan_in + fan_out, 1)))


def he_normal(shape):
    return _truncated_normal(shape, math.sqrt(2.0 / max(_fans(shape)[0], 1)))


def he_uniform(shape):
    limit = math.sqrt(6.0 / max(_fans(shape)[0], 1))
    return get_rng().uniform(-limit, limit, shape).astype(np.float32)


def random_normal(shape, stddev=0.05):
    return (get_rng().standard_normal(shape) * stddev).astype(np.float32)


def random_uniform(shape, minval=-0.05, maxval=0.05):
    return get_rng().uniform(minval, maxval, shape).astype(np.float32)


def _truncated_normal(shape, stddev):
    # Keras's truncated normal: redraw beyond 2 std, with the std corrected for the truncation
    std = stddev / 0.87962566103423978
    x = get_rng().standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = get_rng().standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return (x * std).astype(np.float32)


def orthogonal(shape):
    rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
    cols = shape[-1]
    a = get_rng().standard_normal((max(rows, cols), min(rows, cols)))
    q = _orthonormal_columns(a)
    if rows < cols:
        q = q.T
    return q[:rows, :cols].reshape(shape).astype(np.float32)


def _orthonormal_columns(a):
    """The Q of a QR with a positive diagonal in R (what Keras's orthogonal gets after its sign fix),
    by modified Gram-Schmidt run twice; elementwise numpy only, so no LAPACK/BLAS in the library."""
    q = a.copy()
    for j in range(q.shape[1]):
        v = q[:, j]
        for _ in range(2):  # a second pass restores orthogonality lost to rounding
            if j:
                v -= (q[:, :j] * (q[:, :j] * v[:, None]).sum(axis=0)).sum(axis=1)
        v /= np.sqrt((v * v).sum())
    return q


def zeros(shape):
    return np.zeros(shape, np.float32)


def ones(shape):
    return np.ones(shape, np.float32)


def lecun_normal(shape):
    return _truncated_normal(shape, math.sqrt(1.0 / max(_fans(shape)[0], 1)))


def lecun_uniform(shape):
    limit = math.sqrt(3.0 / max(_fans(shape)[0], 1))
    return get_rng().uniform(-limit, limit, shape).astype(np.float32)


def truncated_normal(shape, mean=0.0, stddev=0.05):
    return TruncatedNormal(mean, stddev)(shape)


def identity(shape):
    return Identity()(shape)


# ---- initializer objects (keras.initializers.GlorotUniform(seed=...), ...) ------------------------------
class Initializer:
    """Base class: __call__(shape, dtype=None) -> a float32 array; get_config / from_config as Keras.

    seed: None draws from forgenet's global generator (forgenet.utils.set_random_seed); an int gives the
    same values at every call, as a seeded Keras initializer does.
    """

    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise ValueError(f"{type(self).__name__}: seed must be an int or None, got {seed!r}")
        self.seed = seed

    def _rng(self):
        return get_rng() if self.seed is None else np.random.default_rng(int(self.seed))

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())


def _dtype(cls, dtype):
    if dtype not in (None, "float32", np.float32):
        raise ValueError(f"{cls}: only dtype float32 is supported, got {dtype!r}")


class Zeros(Initializer):
    def __init__(self):
        super().__init__(None)

    def __call__(self, shape, dtype=None):
        _dtype("Zeros", dtype)
        return np.zeros(tuple(shape), np.float32)

    def get_config(self):
        return {}


class Ones(Zeros):
    def __call__(self, shape, dtype=None):
        _dtype("Ones", dtype)
        return np.ones(tuple(shape), np.float32)


class Constant(Initializer):
    def __init__(self, value=0.0):
        super().__init__(None)
        self.value = value

    def __call__(self, shape, dtype=None):
        _dtype("Constant", dtype)
        return np.broadcast_to(np.asarray(self.value, np.float32), tuple(shape)).copy()

    def get_config(self):
        v = self.value
        return {"value": v.tolist() if hasattr(v, "tolist") else v}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        _dtype("RandomNormal", dtype)
        return (self._rng().standard_normal(tuple(shape)) * self.stddev + self.mean).astype(np.float32)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        _dtype("RandomUniform", dtype)
        return self._rng().uniform(self.minval, self.maxval, tuple(shape)).astype(np.float32)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated(rng, shape, stddev, mean=0.0):
    """Normal draws beyond two standard deviations redrawn (Keras's truncated normal)."""
    x = rng.standard_normal(tuple(shape))
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return (x * stddev + mean).astype(np.float32)


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        _dtype("TruncatedNormal", dtype)
        return _truncated(self._rng(), shape, self.stddev, self.mean)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: scale / fan (fan_in, fan_out or their mean) as the variance of a truncated
    normal (its std corrected for the truncation), an untruncated normal, or a uniform."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        self.input_axes, self.output_axes = input_axes, output_axes
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: argument `scale` must be positive float, got scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: invalid `mode` argument {mode!r}; expected fan_in, fan_out or fan_avg")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"VarianceScaling: invalid `distribution` argument {distribution!r}; expected uniform, "
                             "truncated_normal or untruncated_normal")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        _dtype(type(self).__name__, dtype)
        shape = tuple(shape)
        if self.input_axes is not None and self.output_axes is not None:  # Keras: fans from the named axes
            fan_in = math.prod(shape[a] for a in self.input_axes)
            fan_out = math.prod(shape[a] for a in self.output_axes)
        else:
            fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            return _truncated(rng, shape, math.sqrt(scale) / 0.87962566103423978)
        if self.distribution == "untruncated_normal":
            return (rng.standard_normal(shape) * math.sqrt(scale)).astype(np.float32)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape).astype(np.float32)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _preset(name, scale, mode, distribution):
    class _P(VarianceScaling):
        def __init__(self, seed=None, input_axes=None, output_axes=None):
            super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

        def get_config(self):
            return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}
    _P.__name__ = _P.__qualname__ = name
    return _P


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        _dtype("Orthogonal", dtype)
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the tensor to initialize must be at least two-dimensional, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q = _orthonormal_columns(a)
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        super().__init__(None)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        _dtype("Identity", dtype)
        if len(shape) != 2:
            raise ValueError(f"Identity: can only be used for 2D matrices, got shape {tuple(shape)}")
        return (self.gain * np.eye(*shape)).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain}


_CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
                                    VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
                                    LecunUniform, Orthogonal, Identity)}
# Keras's snake-case aliases with no function form above resolve to a fresh default instance
_ALIASES = {"constant": Constant, "variance_scaling": VarianceScaling, "truncated_normal": TruncatedNormal,
            "identity": Identity, "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
            "uniform": RandomUniform, "normal": RandomNormal, "one": Ones, "zero": Zeros}

_BY_NAME = {f.__name__: f for f in (glorot_uniform, glorot_normal, he_normal, he_uniform, random_normal,
                                   random_uniform, orthogonal, zeros, ones, lecun_normal, lecun_uniform)}


def get(identifier):
    """An initializer from a Keras name ("glorot_uniform", "GlorotUniform"), a config dict, an Initializer or a
    callable taking the shape."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown initializer class {identifier.get('class_name')!r}; expected one of "
                             f"{sorted(_CLASSES)}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        key = identifier.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]
        if identifier in _ALIASES or key in _ALIASES:
            return (_ALIASES.get(identifier) or _ALIASES[key])()
    raise ValueError(f"Unknown initializer {identifier!r}; expected one of {sorted(_BY_NAME)}, "
                     f"{sorted(_CLASSES)} or a callable")


def serialize(initializer):
    """Keras's form: {"module": "keras.initializers", "class_name": ..., "config": ...}."""
    if isinstance(initializer, str):
        initializer = get(initializer)
    if not isinstance(initializer, Initializer):
        for name, fn in _BY_NAME.items():
            if fn is initializer:
                initializer = _CLASSES["".join(p.capitalize() for p in name.split("_"))]()
                break
        else:
            raise ValueError(f"Cannot serialize initializer {initializer!r}: not a forgenet initializer")
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    if isinstance(config, dict) and custom_objects and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(config.get("config", {}))
    return get(config)

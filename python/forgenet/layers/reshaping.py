"""Reshaping layers (Keras 3, channels_last): UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D,
RepeatVector, Permute."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import functional as F
from forgenet.functional import reshaping as R
from forgenet.layers.base import Layer
from forgenet.layers.core import channels_last, check_rank, positive_int

_NLC, _NHWC = "(batch, steps, channels)", "(batch, height, width, channels)"


def _amounts(layer, arg, value, dims, allow_zero=True):
    """Keras's padding/cropping forms: an int, a pair of ints (symmetric per axis), or a pair of pairs."""
    def nonneg(v):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{layer}: {arg} must hold non-negative ints, got {value!r}")
        return int(v)

    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        v = nonneg(value)
        return ((v, v),) * dims
    if dims == 1:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return ((nonneg(value[0]), nonneg(value[1])),)
        raise ValueError(f"{layer}: {arg} must be an int or a tuple of 2 ints, got {value!r}")
    if isinstance(value, (list, tuple)) and len(value) == dims:
        out = []
        for v in value:
            if isinstance(v, numbers.Integral):
                out.append((nonneg(v), nonneg(v)))
            elif isinstance(v, (list, tuple)) and len(v) == 2:
                out.append((nonneg(v[0]), nonneg(v[1])))
            else:
                raise ValueError(f"{layer}: {arg} must be an int, a tuple of {dims} ints or a tuple of {dims} "
                                 f"tuples of 2 ints, got {value!r}")
        return tuple(out)
    raise ValueError(f"{layer}: {arg} must be an int, a tuple of {dims} ints or a tuple of {dims} tuples of 2 ints, "
                     f"got {value!r}")


class ZeroPadding1D(Layer):
    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _amounts(self.name, "padding", padding, 1)[0]
        self.data_format = channels_last(self.name, data_format)

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 3, _NLC)
        return R.pad(inputs, ((0, 0), self.padding, (0, 0)))

    def compute_output_shape(self, s):
        return (s[0], None if s[1] is None else s[1] + sum(self.padding), s[2])

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding), "data_format": self.data_format}


class ZeroPadding2D(Layer):
    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _amounts(self.name, "padding", padding, 2)
        self.data_format = channels_last(self.name, data_format)

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 4, _NHWC)
        return R.pad(inputs, ((0, 0),) + self.padding + ((0, 0),))

    def compute_output_shape(self, s):
        return (s[0],) + tuple(None if d is None else d + sum(p) for d, p in zip(s[1:3], self.padding)) + (s[3],)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


def _crop(layer, inputs, cropping):
    index = [slice(None)]
    for size, (a, b) in zip(inputs.shape[1:], cropping):
        if a + b >= size:
            raise ValueError(f"{layer}: cropping {cropping} leaves nothing of input shape {tuple(inputs.shape)}")
        index.append(slice(a, size - b))
    return R.slice_axes(inputs, tuple(index) + (slice(None),))


class Cropping1D(Layer):
    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _amounts(self.name, "cropping", cropping, 1)[0]

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 3, _NLC)
        return _crop(self.name, inputs, (self.cropping,))

    def compute_output_shape(self, s):
        return (s[0], None if s[1] is None else s[1] - sum(self.cropping), s[2])

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(Layer):
    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _amounts(self.name, "cropping", cropping, 2)
        self.data_format = channels_last(self.name, data_format)

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 4, _NHWC)
        return _crop(self.name, inputs, self.cropping)

    def compute_output_shape(self, s):
        return (s[0],) + tuple(None if d is None else d - sum(c) for d, c in zip(s[1:3], self.cropping)) + (s[3],)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping], "data_format": self.data_format}


def bilinear_matrix(n_in, n_out):
    """(n_out, n_in) weights of half-pixel-centred linear interpolation (TensorFlow's and torch's
    align_corners=False resize, no antialiasing), as a float32 matrix for our GEMM."""
    scale = n_in / n_out
    src = np.clip((np.arange(n_out) + 0.5) * scale - 0.5, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    w = np.zeros((n_out, n_in), np.float64)
    np.add.at(w, (np.arange(n_out), lo), 1.0 - frac)
    np.add.at(w, (np.arange(n_out), hi), frac)
    return w.astype(np.float32)


def resize_bilinear(x, out_hw):
    """Bilinear resize of an NHWC Tensor: one interpolation matrix per axis, applied as matmuls."""
    n, h, w, c = x.shape
    ho, wo = out_hw
    wh, ww = bilinear_matrix(h, ho), bilinear_matrix(w, wo)
    xp = np if isinstance(getattr(x, "data", x), np.ndarray) else __import__("cupy")
    t = F.transpose(x, (0, 2, 3, 1))                      # (N, W, C, H)
    t = F.matmul(t, xp.asarray(wh.T.copy()))              # (N, W, C, Ho)
    t = F.transpose(t, (0, 3, 2, 1))                      # (N, Ho, C, W)
    t = F.matmul(t, xp.asarray(ww.T.copy()))              # (N, Ho, C, Wo)
    return F.transpose(t, (0, 1, 3, 2))                   # (N, Ho, Wo, C)


class UpSampling1D(Layer):
    """Repeats each step `size` times."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = positive_int(self.name, "size", size)

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 3, _NLC)
        return R.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, s):
        return (s[0], None if s[1] is None else s[1] * self.size, s[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling2D(Layer):
    """Scales height and width by `size`: 'nearest' repeats rows and columns, 'bilinear' interpolates."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        from forgenet.kernels._array import pair

        self.size = pair(self.name, "size", size)
        self.data_format = channels_last(self.name, data_format)
        interp = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if interp not in ("nearest", "bilinear"):
            raise ValueError(f"{self.name}: interpolation must be 'nearest' or 'bilinear' (others are not supported "
                             f"yet), got {interpolation!r}")
        self.interpolation = interp

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 4, _NHWC)
        if self.interpolation == "nearest":
            return R.repeat(R.repeat(inputs, self.size[0], axis=1), self.size[1], axis=2)
        return resize_bilinear(inputs, (inputs.shape[1] * self.size[0], inputs.shape[2] * self.size[1]))

    def compute_output_shape(self, s):
        return (s[0],) + tuple(None if d is None else d * k for d, k in zip(s[1:3], self.size)) + (s[3],)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int(self.name, "n", n)

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 2, "(batch, features)")
        return R.repeat(F.reshape(inputs, (inputs.shape[0], 1, inputs.shape[1])), self.n, axis=1)

    def compute_output_shape(self, s):
        return (s[0], self.n, s[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permutes the non-batch axes; dims counts from 1 (Keras), e.g. (2, 1) swaps the first two."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            self.dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: dims must be a tuple of ints, got {dims!r}") from None
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"{self.name}: invalid permutation argument dims={dims!r}: it must hold each of "
                             f"1..{len(self.dims)} once")

    def call(self, inputs):
        if len(inputs.shape) != len(self.dims) + 1:
            raise ValueError(f"{self.name}: dims {self.dims} expects input of rank {len(self.dims) + 1}, got shape "
                             f"{tuple(inputs.shape)}")
        return F.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, s):
        return (s[0],) + tuple(s[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}

"""RandomRotation, RandomTranslation and RandomZoom (Keras 3, channels_last): per-image affine maps
(TensorFlow's 8-parameter transform convention: output (x, y) samples input (a0 x + a1 y + a2,
b0 x + b1 y + b2)) sampled bilinearly or by nearest neighbour, with Keras's fill modes ('reflect',
'wrap', 'constant', 'nearest'). They act only with training=True; the augmentation is not
differentiated (it sits in front of the model, as in Keras)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from forgenet.autograd.tensor import Tensor
from forgenet.layers.base import Layer
from forgenet.layers.core import channels_last
from forgenet.utils import get_rng

_FILL = ("reflect", "wrap", "constant", "nearest")
_INTERP = ("nearest", "bilinear")


def _fix(idx, size, mode):
    """Integer positions mapped into [0, size) by the fill mode; the second result marks positions that
    take fill_value ('constant' only)."""
    if mode == "reflect":  # d c b a | a b c d | d c b a
        period = 2 * size
        i = np.mod(idx, period)
        return np.where(i >= size, period - 1 - i, i), None
    if mode == "wrap":
        return np.mod(idx, size), None
    if mode == "nearest":
        return np.clip(idx, 0, size - 1), None
    outside = (idx < 0) | (idx >= size)
    return np.clip(idx, 0, size - 1), outside


def affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """images (N, H, W, C) float32, transforms (N, 8) -> transformed images (keras.ops.image.affine_transform)."""
    images = np.asarray(images, np.float32)
    t = np.asarray(transforms, np.float64).reshape(images.shape[0], 8)
    n, h, w, c = images.shape
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    out = np.empty_like(images)
    for b in range(n):
        a0, a1, a2, b0, b1, b2, c0, c1 = t[b]
        k = c0 * xs + c1 * ys + 1.0
        xin, yin = (a0 * xs + a1 * ys + a2) / k, (b0 * xs + b1 * ys + b2) / k
        img = images[b]
        if interpolation == "nearest":
            corners = [(np.floor(yin + 0.5).astype(np.int64), np.floor(xin + 0.5).astype(np.int64), 1.0)]
        else:
            y0, x0 = np.floor(yin).astype(np.int64), np.floor(xin).astype(np.int64)
            wy, wx = yin - y0, xin - x0
            corners = [(y0, x0, (1 - wy) * (1 - wx)), (y0, x0 + 1, (1 - wy) * wx), (y0 + 1, x0, wy * (1 - wx)),
                       (y0 + 1, x0 + 1, wy * wx)]
        acc = np.zeros((h, w, c), np.float64)
        for yy, xx, weight in corners:
            yi, oy = _fix(yy, h, fill_mode)
            xi, ox = _fix(xx, w, fill_mode)
            v = img[yi, xi].astype(np.float64)
            if fill_mode == "constant":
                v = np.where((oy | ox)[..., None], fill_value, v)
            acc += np.asarray(weight)[..., None] * v
        out[b] = acc
    return out


def _factor(layer, arg, v, symmetric_sign=True):
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError(f"{layer}: {arg} must be a float or a tuple of 2 floats, got {v!r}")
        lo, hi = sorted(float(f) for f in v)
    elif isinstance(v, numbers.Real) and not isinstance(v, bool):
        lo, hi = -abs(float(v)), abs(float(v))
    else:
        raise ValueError(f"{layer}: {arg} must be a float or a tuple of 2 floats, got {v!r}")
    if lo < -1.0 or hi > 1.0:
        raise ValueError(f"{layer}: {arg} values must be in [-1, 1], got {v!r}")
    return lo, hi


class _RandomAffine(Layer):
    def _init_common(self, fill_mode, interpolation, seed, fill_value, data_format):
        if fill_mode not in _FILL:
            raise NotImplementedError(f"{self.name}: unknown fill_mode {fill_mode!r}, expected one of {_FILL}")
        if interpolation not in _INTERP:
            raise NotImplementedError(f"{self.name}: unknown interpolation {interpolation!r}, expected one of {_INTERP}")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"{self.name}: seed must be an int or None, got {seed!r}")
        self.fill_mode, self.interpolation, self.seed, self.fill_value = fill_mode, interpolation, seed, fill_value
        self._rng = None if seed is None else np.random.default_rng(int(seed))
        self.data_format = channels_last(self.name, data_format)

    def _gen(self):
        return self._rng if self._rng is not None else get_rng()

    def call(self, inputs, training=False):
        if not training:
            return inputs
        data = inputs.data if isinstance(inputs, Tensor) else inputs
        x = np.asarray(data.get() if hasattr(data, "get") else data)
        single = x.ndim == 3
        if x.ndim not in (3, 4):
            raise ValueError(f"{self.name}: expected images of rank 3 or 4, got shape {x.shape}")
        batch = x[None] if single else x
        out = self.transform_images(batch, self.get_random_transformation(batch))
        out = out[0] if single else out
        return Tensor(out)

    def transform_images(self, images, transformation):
        images = np.asarray(images, np.float32)
        return affine_transform(images, self._matrices(images, transformation), self.interpolation, self.fill_mode,
                                self.fill_value)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _common_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "seed": self.seed, "fill_value": self.fill_value, "data_format": self.data_format}


class RandomRotation(_RandomAffine):
    """Rotates each image by a random angle in factor * 2 pi (factor 0.1: up to +-36 degrees) about its centre."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self._lower, self._upper = _factor(self.name, "factor", factor)
        self._init_common(fill_mode, interpolation, seed, fill_value, data_format)

    def get_random_transformation(self, images):
        n, h, w = images.shape[:3]
        angle = self._gen().uniform(self._lower * 360.0, self._upper * 360.0, n)
        theta = angle * math.pi / 180.0
        cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
        cos, sin = np.cos(theta), np.sin(theta)
        a0, a1, b0, b1 = cos, -sin, sin, cos
        m = np.stack([a0, a1, cx - cx * a0 - cy * a1, b0, b1, cy - cx * b0 - cy * b1, np.zeros(n), np.zeros(n)], 1)
        return {"rotation_matrix": m.astype(np.float32)}

    def _matrices(self, images, transformation):
        return np.asarray(transformation["rotation_matrix"])

    def get_config(self):
        return {**self._common_config(), "factor": self.factor}


class RandomTranslation(_RandomAffine):
    """Shifts each image by random fractions of its height and width."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor(self.name, "height_factor", height_factor)
        self._w = _factor(self.name, "width_factor", width_factor)
        self._init_common(fill_mode, interpolation, seed, fill_value, data_format)

    def get_random_transformation(self, images):
        n, h, w = images.shape[:3]
        g = self._gen()
        dy = g.uniform(*self._h, (n, 1)) * h
        dx = g.uniform(*self._w, (n, 1)) * w
        return {"translations": np.concatenate([dx, dy], 1).astype(np.float32)}

    def _matrices(self, images, transformation):
        t = np.asarray(transformation["translations"], np.float64)
        n = t.shape[0]
        return np.stack([np.ones(n), np.zeros(n), -t[:, 0], np.zeros(n), np.ones(n), -t[:, 1], np.zeros(n),
                         np.zeros(n)], 1)

    def get_config(self):
        return {**self._common_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomZoom(_RandomAffine):
    """Zooms each image by a random 1 + factor per axis (positive factors zoom out, as Keras); width
    follows height when width_factor is None."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor(self.name, "height_factor", height_factor)
        self._w = None if width_factor is None else _factor(self.name, "width_factor", width_factor)
        self._init_common(fill_mode, interpolation, seed, fill_value, data_format)

    def get_random_transformation(self, images):
        n = images.shape[0]
        g = self._gen()
        hz = g.uniform(1.0 + self._h[0], 1.0 + self._h[1], (n, 1))
        wz = hz if self._w is None else g.uniform(1.0 + self._w[0], 1.0 + self._w[1], (n, 1))
        return {"height_zoom": hz.astype(np.float32), "width_zoom": wz.astype(np.float32)}

    def _matrices(self, images, transformation):
        h, w = images.shape[1:3]
        zx = np.asarray(transformation["width_zoom"], np.float64).reshape(-1)
        zy = np.asarray(transformation["height_zoom"], np.float64).reshape(-1)
        n = zx.shape[0]
        return np.stack([zx, np.zeros(n), (w - 1) / 2.0 * (1 - zx), np.zeros(n), zy, (h - 1) / 2.0 * (1 - zy),
                         np.zeros(n), np.zeros(n)], 1)

    def get_config(self):
        return {**self._common_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}

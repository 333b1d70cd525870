"""Image preprocessing layers (Keras 3, channels_last): Resizing, CenterCrop, RandomFlip. Batched
(N, H, W, C) or single (H, W, C) images; the random layers act only with training=True."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet.autograd.tensor import Tensor
from forgenet.functional import reshaping as R
from forgenet import functional as F
from forgenet.functional.math import getitem
from forgenet.layers.base import Layer
from forgenet.layers.core import channels_last
from forgenet.layers.reshaping import resize_bilinear
from forgenet.utils import get_rng


def _size(layer, arg, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{layer}: {arg} must be a positive int, got {v!r}")
    return int(v)


def _batched(layer, inputs):
    if len(inputs.shape) == 3:
        return F.reshape(inputs, (1,) + tuple(inputs.shape)), True
    if len(inputs.shape) != 4:
        raise ValueError(f"{layer}: expected images of rank 3 (H, W, C) or 4 (N, H, W, C), got shape "
                         f"{tuple(inputs.shape)}")
    return inputs, False


def _unbatch(x, single):
    return F.reshape(x, tuple(x.shape[1:])) if single else x


def resize_nearest(x, out_hw):
    """Nearest-neighbour resize with half-pixel centres (TensorFlow's and Keras's 'nearest')."""
    n, h, w, c = x.shape
    rows = np.minimum(np.floor((np.arange(out_hw[0]) + 0.5) * h / out_hw[0]).astype(np.int64), h - 1)
    cols = np.minimum(np.floor((np.arange(out_hw[1]) + 0.5) * w / out_hw[1]).astype(np.int64), w - 1)
    return getitem(getitem(x, (slice(None), rows)), (slice(None), slice(None), cols))


class Resizing(Layer):
    """Resizes images to (height, width): 'bilinear' (default) or 'nearest', no antialiasing;
    crop_to_aspect_ratio crops the largest centred window of the target's aspect ratio first."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        n = self.name
        self.height, self.width = _size(n, "height", height), _size(n, "width", width)
        if interpolation not in ("bilinear", "nearest"):
            raise NotImplementedError(f"{n}: interpolation {interpolation!r} is not supported yet (bilinear, nearest)")
        if pad_to_aspect_ratio or antialias:
            raise NotImplementedError(f"{n}: pad_to_aspect_ratio and antialias are not supported yet")
        if fill_mode != "constant":
            raise ValueError(f"{n}: only fill_mode='constant' is supported (as Keras), got {fill_mode!r}")
        self.interpolation, self.crop_to_aspect_ratio = interpolation, bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio, self.fill_mode, self.fill_value, self.antialias = False, fill_mode, fill_value, False
        self.data_format = channels_last(n, data_format)

    def call(self, inputs):
        x, single = _batched(self.name, inputs)
        if self.crop_to_aspect_ratio:
            h, w = x.shape[1], x.shape[2]
            ch = min(h, int(w * self.height / self.width))
            cw = min(w, int(h * self.width / self.height))
            top, left = (h - ch) // 2, (w - cw) // 2
            x = R.slice_axes(x, (slice(None), slice(top, top + ch), slice(left, left + cw), slice(None)))
        out = (self.height, self.width)
        y = resize_bilinear(x, out) if self.interpolation == "bilinear" else resize_nearest(x, out)
        return _unbatch(y, single)

    def compute_output_shape(self, s):
        return tuple(s[:-3]) + (self.height, self.width, s[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": False, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "antialias": False, "data_format": self.data_format}


class CenterCrop(Layer):
    """The centred (height, width) window; smaller images are resized to it (Keras's smart resize)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = _size(self.name, "height", height), _size(self.name, "width", width)
        self.data_format = channels_last(self.name, data_format)

    def call(self, inputs):
        x, single = _batched(self.name, inputs)
        h, w = x.shape[1], x.shape[2]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            y = R.slice_axes(x, (slice(None), slice(top, top + self.height), slice(left, left + self.width),
                                 slice(None)))
        else:
            y = Resizing(self.height, self.width, crop_to_aspect_ratio=True)(x)
        return _unbatch(y, single)

    def compute_output_shape(self, s):
        return tuple(s[:-3]) + (self.height, self.width, s[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}


class RandomFlip(Layer):
    """Flips each image left-right and/or up-down with probability 1/2 while training."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"{self.name}: mode must be 'horizontal', 'vertical' or 'horizontal_and_vertical', "
                             f"got {mode!r}")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"{self.name}: seed must be an int or None, got {seed!r}")
        self.mode, self.seed = mode, seed
        self._rng = None if seed is None else np.random.default_rng(int(seed))
        self.data_format = channels_last(self.name, data_format)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        x, single = _batched(self.name, inputs)
        rng = self._rng if self._rng is not None else get_rng()
        n = x.shape[0]
        rows = np.broadcast_to(np.arange(x.shape[1]), (n, x.shape[1])).copy()
        cols = np.broadcast_to(np.arange(x.shape[2]), (n, x.shape[2])).copy()
        if "horizontal" in self.mode:
            flip = rng.random(n) < 0.5
            cols[flip] = cols[flip][:, ::-1]
        if "vertical" in self.mode:
            flip = rng.random(n) < 0.5
            rows[flip] = rows[flip][:, ::-1]
        b = np.arange(n)[:, None, None]
        y = getitem(x, (b, rows[:, :, None], cols[:, None, :]))
        return _unbatch(y, single)

    def compute_output_shape(self, s):
        return tuple(s)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "seed": self.seed, "data_format": self.data_format}

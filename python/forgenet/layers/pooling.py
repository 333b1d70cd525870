"""Max and average pooling 1-D/2-D and global pooling (Keras 3, channels_last; 'same' padding as TensorFlow)."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional import reshaping as R
from forgenet.layers.base import Layer
from forgenet.layers.convolutional import _NHWC, window_fits, window_out
from forgenet.layers.core import channels_last, check_rank
from forgenet.kernels._array import pair, padding_word


class _Pooling2D(Layer):
    _fn = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        n = self.name
        self.pool_size = pair(n, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else pair(n, "strides", strides)
        self.padding = padding_word(n, padding)
        self.data_format = channels_last(n, data_format)

    def _check(self, shape):
        check_rank(self.name, shape, 4, _NHWC)
        window_fits(self.name, shape, self.pool_size, "pool_size", self.padding)

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def call(self, inputs):
        self._check(inputs.shape)
        return type(self)._fn(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, window_out(h, self.pool_size[0], self.strides[0], self.padding),
                window_out(w, self.pool_size[1], self.strides[1], self.padding), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """Max over pool_size windows; strides default to pool_size."""
    _fn = staticmethod(F.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Mean over pool_size windows (padded positions excluded); strides default to pool_size."""
    _fn = staticmethod(F.avg_pool2d)


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D  # Keras's aliases


# ---- 1-D pooling (the 2-D kernels on a height-1 image) and global pooling ----------------------------
def _int1(layer, arg, v):
    if isinstance(v, (list, tuple)) and len(v) == 1:
        v = v[0]
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
        raise ValueError(f"{layer}: {arg} must be a positive int or a tuple of one, got {v!r}")
    return int(v)


class _Pooling1D(Layer):
    _fn = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        n = self.name
        self.pool_size = _int1(n, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _int1(n, "strides", strides)
        self.padding = padding_word(n, padding)
        self.data_format = channels_last(n, data_format)

    def _check(self, shape):
        check_rank(self.name, shape, 3, "(batch, steps, channels)")
        if self.padding == "valid" and shape[1] is not None and self.pool_size > shape[1]:
            raise ValueError(f"{self.name}: pool_size {self.pool_size} is larger than the input's {shape[1]} steps "
                             "with padding='valid'")

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def call(self, inputs):
        self._check(inputs.shape)
        n, steps, c = inputs.shape
        y = type(self)._fn(F.reshape(inputs, (n, 1, steps, c)), (1, self.pool_size), (1, self.strides), self.padding)
        return F.reshape(y, (n, y.shape[2], c))

    def compute_output_shape(self, input_shape):
        n, steps, c = input_shape
        return (n, window_out(steps, self.pool_size, self.strides, self.padding), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": [self.pool_size], "strides": [self.strides],
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    """Max over pool_size steps; strides default to pool_size."""
    _fn = staticmethod(F.max_pool2d)


class AveragePooling1D(_Pooling1D):
    """Mean over pool_size steps (padded steps excluded); strides default to pool_size."""
    _fn = staticmethod(F.avg_pool2d)


class _GlobalPooling(Layer):
    rank = 1
    supports_masking = False

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = channels_last(self.name, data_format)
        self.keepdims = bool(keepdims)

    def _axes(self, shape):
        check_rank(self.name, shape, self.rank + 2,
                   "(batch, steps, channels)" if self.rank == 1 else "(batch, height, width, channels)")
        return tuple(range(1, self.rank + 1))

    def build(self, input_shape):
        self._axes(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def compute_mask(self, inputs, mask=None):
        return None  # the steps the mask was about are gone

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps; with a (batch, steps) mask, over the unmasked steps only."""

    rank = 1
    supports_masking = True

    def call(self, inputs, mask=None):
        axes = self._axes(inputs.shape)
        if mask is None:
            return F.mean(inputs, axis=axes, keepdims=self.keepdims)
        xp = array_module(inputs.data if isinstance(inputs, Tensor) else inputs)
        m = xp.asarray(getattr(mask, "data", mask)).astype(np.float32)[:, :, None]
        return F.sum(inputs * m, axis=1, keepdims=self.keepdims) / m.sum(axis=1, keepdims=self.keepdims)


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width."""

    rank = 2

    def call(self, inputs):
        return F.mean(inputs, axis=self._axes(inputs.shape), keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps (Keras ignores masks here too)."""

    rank = 1

    def call(self, inputs):
        return R.reduce_max(inputs, self._axes(inputs.shape), self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width."""

    rank = 2

    def call(self, inputs):
        return R.reduce_max(inputs, self._axes(inputs.shape), self.keepdims)


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

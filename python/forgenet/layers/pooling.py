"""MaxPooling2D and AveragePooling2D (Keras 3, channels_last; 'same' padding as TensorFlow)."""
from __future__ import annotations

from forgenet import functional as F
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

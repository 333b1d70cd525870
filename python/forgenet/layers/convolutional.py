"""Conv2D (Keras 3): channels_last, kernel (KH, KW, Cin, filters), bias (filters,)."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.layers.base import Layer
from forgenet.layers.core import (channels_last, check_initializers, check_rank, get_activation,
                                  activation_config, initializer_config, positive_int)
from forgenet.kernels._array import pair, padding_word

_NHWC = "(batch, height, width, channels)"


def window_fits(layer, shape, window, what, padding):
    """With 'valid' padding a window larger than the input leaves no output position."""
    h, w = shape[1], shape[2]
    if padding == "valid" and ((h is not None and window[0] > h) or (w is not None and window[1] > w)):
        raise ValueError(f"{layer}: {what} {window} is larger than the input's spatial size ({h}, {w}) "
                         f"with padding='valid' (input shape {tuple(shape)})")


def window_out(size, window, stride, padding):
    if size is None:
        return None
    return -(-size // stride) if padding == "same" else (size - window) // stride + 1


class Conv2D(Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        n = self.name
        self.filters = positive_int(n, "filters", filters)
        self.kernel_size = pair(n, "kernel_size", kernel_size)
        self.strides = pair(n, "strides", strides)
        self.padding = padding_word(n, padding)
        self.data_format = channels_last(n, data_format)
        if pair(n, "dilation_rate", dilation_rate) != (1, 1):
            raise ValueError(f"{n}: only dilation_rate=(1, 1) is supported, got {dilation_rate!r}")
        if groups != 1:
            raise ValueError(f"{n}: only groups=1 is supported, got {groups!r}")
        self.dilation_rate, self.groups = (1, 1), 1
        self.activation = get_activation(n, activation)
        self.use_bias = bool(use_bias)
        check_initializers(n, kernel_initializer, bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel = self.bias = None

    def _check(self, shape):
        check_rank(self.name, shape, 4, _NHWC)
        if self.kernel is not None and shape[3] not in (None, self.kernel.shape[2]):
            raise ValueError(f"{self.name}: expected input with {self.kernel.shape[2]} channels (last axis), "
                             f"got shape {tuple(shape)}")
        window_fits(self.name, shape, self.kernel_size, "kernel_size", self.padding)

    def build(self, input_shape):
        self._check(input_shape)
        if input_shape[3] is None:
            raise ValueError(f"{self.name}: the channel dimension of the input must be known, got shape {tuple(input_shape)}")
        self.kernel = self.add_weight(self.kernel_size + (input_shape[3], self.filters), self.kernel_initializer,
                                      name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs):
        self._check(inputs.shape)
        relu = self.activation is F.relu  # fused into the conv's output buffer
        y = F.conv2d(inputs, self.kernel, self.bias if self.use_bias else None, strides=self.strides,
                     padding=self.padding, relu=relu)
        return y if relu else self.activation(y)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, window_out(h, self.kernel_size[0], self.strides[0], self.padding),
                window_out(w, self.kernel_size[1], self.strides[1], self.padding), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activation_config(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializer_config(self.kernel_initializer),
                "bias_initializer": initializer_config(self.bias_initializer)}

"""Conv1D and Conv2D (Keras 3): channels_last, kernel (..., Cin / groups, filters), bias (filters,).

Dilation runs the plain convolution kernel on a zero-inserted kernel (exact, and its gradient is the
dilated kernel's gradient at the taps); groups run one convolution per channel group and concatenate.
Conv1D is Conv2D on a height-1 image.
"""
from __future__ import annotations

import numbers

from forgenet import functional as F
from forgenet.functional import reshaping as R
from forgenet.layers.base import Layer
from forgenet.layers.weight_options import weight_options
from forgenet.layers.core import (channels_last, check_initializers, check_rank, get_activation,
                                  activation_config, initializer_config, positive_int)
from forgenet.kernels._array import pair, padding_word

_NHWC = "(batch, height, width, channels)"
_NLC = "(batch, steps, channels)"


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


def unsupported(layer, **kwargs):
    """Keras arguments forgenet has no implementation of yet: None (their default) or an error."""
    for name, value in kwargs.items():
        if value is not None:
            raise NotImplementedError(f"{layer}: {name} is not supported yet, got {value!r}")


def effective(kernel_size, dilation):
    return tuple((k - 1) * d + 1 for k, d in zip(kernel_size, dilation))


def check_strides_dilation(layer, strides, dilation):
    if max(strides) > 1 and max(dilation) > 1:
        raise ValueError(f"{layer}: strides > 1 not supported in conjunction with dilation_rate > 1, got "
                         f"strides={strides} and dilation_rate={dilation}")


def conv_call(x, kernel, bias, strides, padding, dilation, groups, activation):
    """The grouped, dilated convolution of an NHWC Tensor, bias and activation applied."""
    k = R.dilate_kernel(kernel, dilation)
    relu = activation is F.relu
    if groups == 1:
        y = F.conv2d(x, k, bias, strides=strides, padding=padding, relu=relu)
        return y if relu else activation(y)
    cin, filters = x.shape[3] // groups, k.shape[3] // groups
    parts = []
    for g in range(groups):
        xg = R.slice_axes(x, (slice(None),) * 3 + (slice(g * cin, (g + 1) * cin),))
        kg = R.slice_axes(k, (slice(None),) * 3 + (slice(g * filters, (g + 1) * filters),))
        parts.append(F.conv2d(xg, kg, None, strides=strides, padding=padding))
    y = F.concatenate(parts, axis=-1)
    if bias is not None:
        y = y + bias
    return activation(y)


class _Conv(weight_options(kernel="kernel", bias="bias"), Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        n = self.name
        unsupported(n, lora_rank=lora_rank, lora_alpha=lora_alpha)
        self.filters = positive_int(n, "filters", filters)
        self.kernel_size = self._tuple("kernel_size", kernel_size)
        self.strides = self._tuple("strides", strides)
        self.dilation_rate = self._tuple("dilation_rate", dilation_rate)
        check_strides_dilation(n, self.strides, self.dilation_rate)
        if self.rank == 1 and isinstance(padding, str) and padding.lower() == "causal":
            self.padding = "causal"
        else:
            self.padding = padding_word(n, padding)
        self.data_format = channels_last(n, data_format)
        self.groups = positive_int(n, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{n}: the number of filters must be evenly divisible by the number of groups, got "
                             f"groups={self.groups}, filters={self.filters}")
        self.activation = get_activation(n, activation)
        self.use_bias = bool(use_bias)
        check_initializers(n, kernel_initializer, bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel = self.bias = None

    def _tuple(self, arg, v):
        if self.rank == 2:
            return pair(self.name, arg, v)
        if isinstance(v, (list, tuple)) and len(v) == 1:
            v = v[0]
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{self.name}: {arg} must be a positive int or a tuple of one, got {v!r}")
        return (int(v),)

    def _check(self, shape):
        check_rank(self.name, shape, self.rank + 2, _NHWC if self.rank == 2 else _NLC)
        cin = shape[-1]
        if self.kernel is not None and cin not in (None, self.kernel.shape[-2] * self.groups):
            raise ValueError(f"{self.name}: expected input with {self.kernel.shape[-2] * self.groups} channels "
                             f"(last axis), got shape {tuple(shape)}")
        if self.padding == "valid":
            spatial = tuple(shape[1:-1])
            eff = effective(self.kernel_size, self.dilation_rate)
            if any(s is not None and k > s for s, k in zip(spatial, eff)):
                what = "kernel_size" if eff == self.kernel_size else f"dilated kernel_size (kernel_size {self.kernel_size}, dilation_rate {self.dilation_rate})"
                raise ValueError(f"{self.name}: {what} {eff} is larger than the input's spatial size "
                                 f"{spatial if len(spatial) > 1 else spatial[0]} with padding='valid' "
                                 f"(input shape {tuple(shape)})")

    def build(self, input_shape):
        self._check(input_shape)
        cin = input_shape[-1]
        if cin is None:
            raise ValueError(f"{self.name}: the channel dimension of the input must be known, got shape {tuple(input_shape)}")
        if cin % self.groups:
            raise ValueError(f"{self.name}: the number of input channels must be evenly divisible by the number of "
                             f"groups, got groups={self.groups}, input shape {tuple(input_shape)}")
        self.kernel = self.add_weight(self.kernel_size + (cin // self.groups, self.filters), self.kernel_initializer,
                                      name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs):
        self._check(inputs.shape)
        bias = self.bias if self.use_bias else None
        if self.rank == 2:
            return conv_call(inputs, self.kernel, bias, self.strides, self.padding, self.dilation_rate, self.groups,
                             self.activation)
        n, steps, c = inputs.shape
        x = inputs
        padding = self.padding
        if padding == "causal":  # left padding only: output t sees inputs <= t
            x = R.pad(x, ((0, 0), ((self.kernel_size[0] - 1) * self.dilation_rate[0], 0), (0, 0)))
            padding = "valid"
        x = F.reshape(x, (n, 1, x.shape[1], c))
        k = F.reshape(self.kernel, (1,) + tuple(self.kernel.shape))
        y = conv_call(x, k, bias, (1,) + self.strides, padding, (1,) + self.dilation_rate, self.groups,
                      self.activation)
        return F.reshape(y, (n, y.shape[2], self.filters))

    def compute_output_shape(self, input_shape):
        eff = effective(self.kernel_size, self.dilation_rate)
        pad = "same" if self.padding in ("same", "causal") else "valid"
        if self.padding == "causal":  # left-padded by the dilated window less one
            steps = input_shape[1]
            return (input_shape[0], None if steps is None else (steps - 1) // self.strides[0] + 1, self.filters)
        sizes = tuple(window_out(s, k, st, pad) for s, k, st in zip(input_shape[1:-1], eff, self.strides))
        return (input_shape[0],) + sizes + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activation_config(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializer_config(self.kernel_initializer),
                "bias_initializer": initializer_config(self.bias_initializer)}


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels); kernel (KH, KW, Cin // groups, filters)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, **kwargs)


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); kernel (K, Cin // groups, filters); padding
    'valid', 'same' or 'causal' (left-padded, so output t sees inputs up to t)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, **kwargs)


Convolution1D, Convolution2D = Conv1D, Conv2D  # Keras's aliases

"""Conv2DTranspose, DepthwiseConv2D and SeparableConv2D (Keras 3, channels_last).

Conv2DTranspose is the input gradient of a convolution (kernel (KH, KW, filters, Cin), no flip), run on
the conv2d kernels: the full output of the (dilated) kernel, then cropped or zero-padded per side by
Keras 3's rule for padding and output_padding (the window TensorFlow and JAX compute). DepthwiseConv2D runs on its own fused kernel; SeparableConv2D is that
followed by a 1x1 convolution.
"""
from __future__ import annotations

import numbers

from forgenet import functional as F
from forgenet.functional import depthwise as D
from forgenet.functional import reshaping as R
from forgenet.layers.base import Layer
from forgenet.layers.convolutional import _NHWC, check_strides_dilation, effective, window_fits, window_out
from forgenet.layers.core import (activation_config, channels_last, check_initializers, check_rank, get_activation,
                                  initializer_config, positive_int)
from forgenet.kernels._array import pair, padding_word
from forgenet.layers.weight_options import weight_options


def _non_negative_pair(layer, v):
    try:
        h, w = (v, v) if isinstance(v, numbers.Integral) else tuple(v)
        if not (isinstance(h, numbers.Integral) and isinstance(w, numbers.Integral)):
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"{layer}: output_padding must be an int or a pair of ints, got {v!r}") from None
    if h < 0 or w < 0:
        raise ValueError(f"{layer}: output_padding must be >= 0, got {v!r}")
    return int(h), int(w)


def _transpose_crops(k, s, d, padding, output_padding):
    """Keras 3's (left, right) crop of the full transposed output ((size-1)*s + dilated k) along one axis;
    a negative crop is zero padding (keras.src.backend.common.backend_utils, the torch backend's rule)."""
    k = (k - 1) * d + 1
    if padding == "valid":
        op = max(k, s) - k if output_padding is None else output_padding
        left, right = k - 1, k - 1 + op
    else:
        pad_len = s + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, k - 1)
        right = pad_len - left
    return (k - 1) - left, (k - 1) - right


class Conv2DTranspose(weight_options(kernel="kernel", bias="bias"), Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        n = self.name
        self.filters = positive_int(n, "filters", filters)
        self.kernel_size = pair(n, "kernel_size", kernel_size)
        self.strides = pair(n, "strides", strides)
        self.padding = padding_word(n, padding)
        self.output_padding = None if output_padding is None else _non_negative_pair(n, output_padding)
        if self.output_padding is not None and any(op >= s for op, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{n}: output_padding must be strictly less than strides on each axis, got "
                             f"output_padding={self.output_padding} and strides={self.strides}")
        self.data_format = channels_last(n, data_format)
        self.dilation_rate = pair(n, "dilation_rate", dilation_rate)
        check_strides_dilation(n, self.strides, self.dilation_rate)
        self.activation = get_activation(n, activation)
        self.use_bias = bool(use_bias)
        check_initializers(n, kernel_initializer, bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel = self.bias = None

    def _crops(self, axis):
        op = None if self.output_padding is None else self.output_padding[axis]
        return _transpose_crops(self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis],
                                self.padding, op)

    def _out(self, size, axis):
        if size is None:
            return None
        left, right = self._crops(axis)
        full = (size - 1) * self.strides[axis] + (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
        return full - left - right

    def build(self, input_shape):
        check_rank(self.name, input_shape, 4, _NHWC)
        if input_shape[3] is None:
            raise ValueError(f"{self.name}: the channel dimension of the input must be known, got shape {tuple(input_shape)}")
        self.kernel = self.add_weight(self.kernel_size + (self.filters, input_shape[3]), self.kernel_initializer,
                                      name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs):
        check_rank(self.name, inputs.shape, 4, _NHWC)
        if inputs.shape[3] != self.kernel.shape[3]:
            raise ValueError(f"{self.name}: expected input with {self.kernel.shape[3]} channels (last axis), "
                             f"got shape {tuple(inputs.shape)}")
        kernel = R.dilate_kernel(self.kernel, self.dilation_rate)
        full_hw = tuple((inputs.shape[1 + a] - 1) * self.strides[a] + kernel.shape[a] for a in (0, 1))
        y = R.conv2d_transpose(inputs, kernel, full_hw, self.strides, "valid")
        crops = [self._crops(0), self._crops(1)]
        if any(c < 0 for lr in crops for c in lr):
            y = R.pad(y, [(0, 0)] + [(max(-a, 0), max(-b, 0)) for a, b in crops] + [(0, 0)])
        if any(c > 0 for lr in crops for c in lr):
            y = R.slice_axes(y, (slice(None),) + tuple(slice(max(a, 0), y.shape[1 + i] - max(b, 0))
                                                      for i, (a, b) in enumerate(crops)) + (slice(None),))
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, self._out(h, 0), self._out(w, 1), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "output_padding": None if self.output_padding is None else list(self.output_padding),
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
                "activation": activation_config(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializer_config(self.kernel_initializer),
                "bias_initializer": initializer_config(self.bias_initializer)}


class _Depthwise(Layer):
    """What DepthwiseConv2D and SeparableConv2D share: the depthwise stage's arguments and kernel."""

    _kernel_name = "kernel"

    def _init_depthwise(self, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate,
                        activation, use_bias, depthwise_initializer, bias_initializer):
        n = self.name
        self.kernel_size = pair(n, "kernel_size", kernel_size)
        self.strides = pair(n, "strides", strides)
        self.padding = padding_word(n, padding)
        self.depth_multiplier = positive_int(n, "depth_multiplier", depth_multiplier)
        self.data_format = channels_last(n, data_format)
        self.dilation_rate = pair(n, "dilation_rate", dilation_rate)
        check_strides_dilation(n, self.strides, self.dilation_rate)
        self.activation = get_activation(n, activation)
        self.use_bias = bool(use_bias)
        check_initializers(n, depthwise_initializer, bias_initializer)
        self.depthwise_initializer, self.bias_initializer = depthwise_initializer, bias_initializer
        self.bias = None

    def _check(self, shape):
        check_rank(self.name, shape, 4, _NHWC)
        window_fits(self.name, shape, effective(self.kernel_size, self.dilation_rate), "kernel_size (dilated)",
                    self.padding)

    def _add_depthwise(self, input_shape):
        self._check(input_shape)
        if input_shape[3] is None:
            raise ValueError(f"{self.name}: the channel dimension of the input must be known, got shape {tuple(input_shape)}")
        return self.add_weight(self.kernel_size + (input_shape[3], self.depth_multiplier), self.depthwise_initializer,
                               name=self._kernel_name)

    def _depthwise(self, inputs, kernel, bias):
        self._check(inputs.shape)
        if inputs.shape[3] != kernel.shape[2]:
            raise ValueError(f"{self.name}: expected input with {kernel.shape[2]} channels (last axis), "
                             f"got shape {tuple(inputs.shape)}")
        return D.depthwise_conv2d(inputs, kernel, bias, self.strides, self.padding, self.dilation_rate)

    def _out_hw(self, input_shape):
        eff = effective(self.kernel_size, self.dilation_rate)
        return (window_out(input_shape[1], eff[0], self.strides[0], self.padding),
                window_out(input_shape[2], eff[1], self.strides[1], self.padding))

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
                "activation": activation_config(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": initializer_config(self.depthwise_initializer),
                "bias_initializer": initializer_config(self.bias_initializer)}


class DepthwiseConv2D(weight_options(depthwise="kernel", bias="bias"), _Depthwise):
    """Each input channel convolved with its own depth_multiplier filters: kernel (KH, KW, C, M),
    bias (C*M,), output channel c*M + m."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self._init_depthwise(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                             use_bias, depthwise_initializer, bias_initializer)
        self.kernel = None

    def build(self, input_shape):
        self.kernel = self._add_depthwise(input_shape)
        if self.use_bias:
            self.bias = self.add_weight((input_shape[3] * self.depth_multiplier,), self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs):
        return self.activation(self._depthwise(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        c = None if input_shape[3] is None else input_shape[3] * self.depth_multiplier
        return (input_shape[0],) + self._out_hw(input_shape) + (c,)


class SeparableConv2D(weight_options(depthwise="depthwise_kernel", pointwise="pointwise_kernel",
                                     bias="bias"), _Depthwise):
    """DepthwiseConv2D (no bias) then a 1x1 convolution to `filters`: weights depthwise_kernel
    (KH, KW, C, M), pointwise_kernel (1, 1, C*M, filters), bias (filters,)."""

    _kernel_name = "depthwise_kernel"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self._init_depthwise(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                             use_bias, depthwise_initializer, bias_initializer)
        self.filters = positive_int(self.name, "filters", filters)
        check_initializers(self.name, pointwise_initializer)
        self.pointwise_initializer = pointwise_initializer
        self.depthwise_kernel = self.pointwise_kernel = None

    def build(self, input_shape):
        self.depthwise_kernel = self._add_depthwise(input_shape)
        self.pointwise_kernel = self.add_weight((1, 1, input_shape[3] * self.depth_multiplier, self.filters),
                                                self.pointwise_initializer, name="pointwise_kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs):
        y = self._depthwise(inputs, self.depthwise_kernel, None)
        relu = self.activation is F.relu
        y = F.conv2d(y, self.pointwise_kernel, self.bias, relu=relu)
        return y if relu else self.activation(y)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._out_hw(input_shape) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "pointwise_initializer": initializer_config(self.pointwise_initializer)}


Conv2DTranspose.__doc__ = """Transposed convolution (the gradient of Conv2D with respect to its input):
(batch, H, W, Cin) -> (batch, H*s, W*s, filters) with 'same', ((H-1)*s + max(k, s), ...) with 'valid'."""
SeparableConvolution2D, Convolution2DTranspose = SeparableConv2D, Conv2DTranspose

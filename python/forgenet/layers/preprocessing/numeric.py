"""Rescaling, Normalization (with adapt) and CategoryEncoding (Keras 3)."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module
from forgenet.layers.base import Layer


def _data(x):
    return x.data if isinstance(x, Tensor) else x


class Rescaling(Layer):
    """inputs * scale + offset (scale and offset may be per-channel arrays)."""

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        return inputs * np.asarray(self.scale, np.float32) + np.asarray(self.offset, np.float32)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if not isinstance(v, numbers.Real) else float(v)

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


class Normalization(Layer):
    """(x - mean) / max(sqrt(variance), 1e-7) per position of the kept `axis` (invert=True undoes it).

    mean and variance come from the constructor or from `adapt(data)` (a numpy array, or an iterable
    of batches): the population mean and variance over every axis but `axis`, as Keras."""

    supports_masking = True
    _EPS = 1e-7  # keras.config.epsilon()

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = () if axis is None else ((int(axis),) if isinstance(axis, numbers.Integral) else tuple(axis))
        if (mean is None) != (variance is None):
            raise ValueError(f"{self.name}: when setting values directly, both mean and variance must be set, got "
                             f"mean={mean!r} and variance={variance!r}")
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise ValueError(f"{self.name}: mean and variance must have the same shape, got {np.shape(mean)} and "
                             f"{np.shape(variance)}")
        self.input_mean, self.input_variance, self.invert = mean, variance, bool(invert)
        self.adapt_mean = self.adapt_variance = self.count = None
        self._keep = self._bshape = None

    def build(self, input_shape):
        nd = len(input_shape)
        if any(not -nd <= a < nd for a in self.axis):
            raise ValueError(f"{self.name}: all axis values must be in [-ndim, ndim), got axis={self.axis} for "
                             f"inputs with ndim={nd}")
        self._keep = tuple(sorted(a % nd for a in self.axis))
        if any(input_shape[a] is None for a in self._keep):
            raise ValueError(f"{self.name}: the kept axes {self.axis} must have known sizes, got {tuple(input_shape)}")
        self._bshape = tuple(input_shape[d] if d in self._keep else 1 for d in range(nd))
        shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape, "zeros", trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape, "ones", trainable=False, name="variance")
            self.count = self.add_weight((), "zeros", trainable=False, name="count")
        self.built = True

    def adapt(self, data):
        batches = [np.asarray(data)] if hasattr(data, "shape") else [np.asarray(b) for b in data]
        if not batches:
            raise ValueError(f"{self.name}: adapt() received no data")
        if not self.built:
            self.build(batches[0].shape)
        nd = batches[0].ndim
        reduce = tuple(d for d in range(nd) if d not in self._keep)
        # Chan et al.'s parallel update: batch moments combined in float64
        n, mean, m2 = 0, 0.0, 0.0
        for b in batches:
            b = b.astype(np.float64)
            k = int(np.prod([b.shape[d] for d in reduce])) if reduce else 1
            bm = b.mean(axis=reduce) if reduce else b
            bv = b.var(axis=reduce) if reduce else np.zeros_like(b)
            delta = bm - mean
            tot = n + k
            mean = mean + delta * (k / tot)
            m2 = m2 + bv * k + delta * delta * (n * k / tot)
            n = tot
        self.adapt_mean.assign(np.asarray(mean, np.float32).reshape(self.adapt_mean.shape))
        self.adapt_variance.assign(np.asarray(m2 / n, np.float32).reshape(self.adapt_variance.shape))
        self.count.assign(np.float32(n))

    def _stats(self, like):
        xp = array_module(_data(like))
        if self.input_mean is not None:
            mean = np.broadcast_to(np.asarray(self.input_mean, np.float32), self._kept_shape()).reshape(self._bshape)
            var = np.broadcast_to(np.asarray(self.input_variance, np.float32), self._kept_shape()).reshape(self._bshape)
        else:
            mean = self.adapt_mean.data.reshape(self._bshape)
            var = self.adapt_variance.data.reshape(self._bshape)
        return xp.asarray(mean), xp.maximum(xp.sqrt(xp.asarray(var)), np.float32(self._EPS))

    @property
    def mean(self):
        """Keras's `layer.mean`: the statistics in the broadcast shape (e.g. (1, features)), once built."""
        return self._broadcast_stat(self.input_mean, self.adapt_mean)

    @property
    def variance(self):
        return self._broadcast_stat(self.input_variance, self.adapt_variance)

    def _broadcast_stat(self, given, adapted):
        if self._bshape is None:
            raise AttributeError(f"{self.name}: mean and variance exist once the layer is built (adapt or call it)")
        if given is not None:
            return np.broadcast_to(np.asarray(given, np.float32), self._kept_shape()).reshape(self._bshape).copy()
        return np.asarray(adapted.data).reshape(self._bshape).copy()

    def _kept_shape(self):
        return tuple(self._bshape[d] for d in self._keep)

    def call(self, inputs):
        mean, std = self._stats(inputs)
        if self.invert:
            return inputs * std + mean
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return None if v is None else np.asarray(v).tolist()

        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}


def encode_categorical(op, ids, mode, depth, count_weights=None):
    """Keras's encode_categorical_inputs for one_hot / multi_hot / count on integer ids (numpy)."""
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        if ids.dtype.kind == "f" and np.all(ids == np.round(ids)):
            ids = ids.astype(np.int64)
        else:
            raise TypeError(f"{op}: inputs must be integer ids, got {ids.dtype}")
    if ids.ndim == 0:
        ids = ids[None]
    if ids.ndim > 2:
        raise ValueError(f"{op}: inputs must have rank <= 2 for output_mode={mode!r}, got shape {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= depth):
        raise ValueError(f"{op}: input values must be in the range 0 <= values < num_tokens with "
                         f"num_tokens={depth}, got values in [{ids.min()}, {ids.max()}]")
    if mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids[..., 0]
        return np.eye(depth, dtype=np.float32)[ids]
    onehot = np.eye(depth, dtype=np.float32)[ids]
    axis = 1 if ids.ndim > 1 else 0
    if mode == "multi_hot":
        return onehot.max(axis=axis)
    if count_weights is not None:
        onehot = onehot * np.asarray(count_weights, np.float32)[..., None]
    return onehot.sum(axis=axis)


class CategoryEncoding(Layer):
    """Integer ids -> one_hot, multi_hot or count vectors of length num_tokens."""

    input_dtype = None

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if num_tokens is None or isinstance(num_tokens, bool) or not isinstance(num_tokens, numbers.Integral) \
                or num_tokens < 1:
            raise ValueError(f"{self.name}: num_tokens must be a positive integer, got {num_tokens!r}")
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"{self.name}: output_mode must be one of 'one_hot', 'multi_hot', 'count', got "
                             f"{output_mode!r}")
        if sparse:
            raise ValueError(f"{self.name}: sparse=True is only supported with the TensorFlow backend (as Keras)")
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"{self.name}: count_weights is only supported with output_mode='count'")
        return Tensor(encode_categorical(self.name, np.asarray(_data(inputs)), self.output_mode, self.num_tokens,
                                         count_weights))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "one_hot" and len(input_shape) > 1 and input_shape[-1] == 1:
            input_shape = input_shape[:-1]
        if self.output_mode == "one_hot":
            return tuple(input_shape) + (self.num_tokens,)
        return (input_shape[0], self.num_tokens) if len(input_shape) > 1 else (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": False}

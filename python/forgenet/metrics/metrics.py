"""Metrics (Keras 3): stateful running averages updated from each batch's arrays.

They work on plain arrays (the prediction's `.data`), never on the graph, so tracking accuracy
costs an argmax and a compare per batch. Averages are weighted by the number of samples, so an
epoch's figure is the mean over samples even when the last batch is short.
"""
from __future__ import annotations

import re

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _snake(name):
    s = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()


class Metric:
    _direction = None  # "up" (higher is better) or "down"; EarlyStopping's mode="auto" reads it

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def __call__(self, *args, **kwargs) -> float:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The weighted mean of the values given to update_state.

    Sums of arrays stay on the arrays' device (a 0-d array), so a model on the GPU does not wait for
    the device at every batch; result() reads the sum back.
    """

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        v = _data(values)
        if isinstance(v, (int, float)):
            w = 1.0 if sample_weight is None else float(sample_weight)
            self.total += float(v) * w
            self.count += w
            return
        if sample_weight is None:
            self.total = self.total + v.sum(dtype=np.float64)
            self.count += v.size
        elif isinstance(sample_weight, (int, float)):
            self.total = self.total + v.sum(dtype=np.float64) * sample_weight
            self.count += v.size * sample_weight
        else:
            xp = array_module(v)
            w = xp.asarray(_data(sample_weight), dtype=np.float64)
            v, w = _same_rank(w, v)[::-1] if w.ndim != v.ndim else (v, w)
            if w.ndim > v.ndim:
                raise ValueError(f"{self.name}: sample_weight of shape {tuple(w.shape)} does not fit values of shape "
                                 f"{tuple(v.shape)}")
            # weights cover the leading axes; each sample's value is the mean over the rest (Keras)
            w = xp.broadcast_to(w.reshape(w.shape + (1,) * (v.ndim - w.ndim)), v.shape)
            self.total = self.total + (v * w).sum()
            self.count += float(w.sum())

    def result(self):
        # no float(): on the GPU the sum stays on the device until someone reads the logs
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Averages fn(y_true, y_pred) (one value per sample) over all samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn, self._fn_kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)  # masked entries count for nothing (Keras)
        values = self._fn(_data(y_true), _data(y_pred), **self._fn_kwargs)
        if mask is not None:
            xp = array_module(values)
            m = xp.asarray(_data(mask)).astype(np.float64)
            if sample_weight is not None:
                w, m = _same_rank(xp.asarray(_data(sample_weight), dtype=np.float64), m)
                m = m * w
            sample_weight = m
        super().update_state(values, sample_weight)

    def get_config(self):
        return {"name": self.name, **self._fn_kwargs}


# ---- per-sample functions (Keras 3's formulas) --------------------------------------------------
def sparse_categorical_accuracy(y_true, y_pred):
    xp = array_module(y_pred)
    y_true = xp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    return (y_pred.argmax(axis=-1) == y_true).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    y_true = array_module(y_pred).asarray(y_true)
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(np.float32)


def _same_rank(t, p):
    """Keras's squeeze_or_expand_to_same_rank: reconcile a trailing axis of 1 (a rank-1 side is expanded)."""
    if t.ndim == p.ndim + 1 and t.shape[-1] == 1:
        return (t, p[..., None]) if p.ndim == 1 else (t.reshape(t.shape[:-1]), p)
    if p.ndim == t.ndim + 1 and p.shape[-1] == 1:
        return (t[..., None], p) if t.ndim == 1 else (t, p.reshape(p.shape[:-1]))
    return t, p


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _same_rank(array_module(y_pred).asarray(y_true, dtype=np.float32), y_pred)
    return (y_true == (y_pred > threshold)).astype(np.float32).mean(axis=-1)


def accuracy(y_true, y_pred):
    """Exact equality (keras.metrics.Accuracy), averaged over the last axis."""
    y_true, y_pred = _same_rank(array_module(y_pred).asarray(y_true), y_pred)
    return (y_true == y_pred).astype(np.float32).mean(axis=-1)


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _same_rank(array_module(y_pred).asarray(y_true, dtype=np.float32), y_pred)
    d = y_pred - y_true
    return (d * d).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _same_rank(array_module(y_pred).asarray(y_true, dtype=np.float32), y_pred)
    d = y_pred - y_true
    return array_module(d).abs(d).mean(axis=-1)


# ---- metric classes -----------------------------------------------------------------------------
def _wrapper(fn, direction, default_name):
    class _M(MeanMetricWrapper):
        _direction = direction

        def __init__(self, name=default_name, dtype=None, **kwargs):
            super().__init__(fn, name=name, **kwargs)

    return _M


class SparseCategoricalAccuracy(_wrapper(sparse_categorical_accuracy, "up", "sparse_categorical_accuracy")):
    """Fraction of samples whose argmax prediction equals the integer label."""


class CategoricalAccuracy(_wrapper(categorical_accuracy, "up", "categorical_accuracy")):
    """Fraction of samples whose argmax prediction equals the argmax of the one-hot target."""


class BinaryAccuracy(_wrapper(binary_accuracy, "up", "binary_accuracy")):
    """Fraction of outputs on the right side of `threshold` (default 0.5)."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name=name, threshold=threshold)


class Accuracy(_wrapper(accuracy, "up", "accuracy")):
    """Fraction of predictions exactly equal to the targets."""


class MeanSquaredError(_wrapper(mean_squared_error, "down", "mean_squared_error")):
    pass


class MeanAbsoluteError(_wrapper(mean_absolute_error, "down", "mean_absolute_error")):
    pass

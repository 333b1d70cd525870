"""The IoU metrics of Keras 3 (keras/src/metrics/iou_metrics.py): IoU, MeanIoU, BinaryIoU, OneHotIoU,
OneHotMeanIoU. One accumulated confusion matrix (rows true, columns predicted) in the metric's dtype
(default int: float weights are truncated, as in Keras); the result is Keras's
sum(tp / (union + eps)) over the valid target classes / (number valid + eps)."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet.metrics.metrics import Metric, _data

_EPS = 1e-7  # keras.config.epsilon()


def _np(x):
    x = _data(x)
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def _ids(a):
    return np.trunc(np.asarray(a, np.float64)).astype(np.int64).reshape(-1)  # float ids truncate, as Keras's cast


class IoU(Metric):
    """TP / (TP + FP + FN) averaged over `target_class_ids`."""

    _direction = "up"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        who = type(self).__name__
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(f"{who}: num_classes must be a positive int, got {num_classes!r}")
        self.num_classes = int(num_classes)
        ids = list(target_class_ids)
        if not ids or any(not isinstance(i, numbers.Integral) or i < 0 for i in ids):
            raise ValueError(f"{who}: target_class_ids must be a non-empty list of class ids >= 0, got "
                             f"{target_class_ids!r}")
        if max(ids) >= num_classes:
            raise ValueError(f"{who}: target class id {max(ids)} is out of range, which is [0, {num_classes})")
        self.target_class_ids = [int(i) for i in ids]
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = bool(sparse_y_true), bool(sparse_y_pred), axis
        self._int = dtype is None or "int" in str(dtype)
        self._dtype_name = "int32" if self._int else str(dtype)
        super().__init__(name=name)

    def reset_state(self):
        self.total_cm = np.zeros((self.num_classes, self.num_classes), np.int64 if self._int else np.float64)

    def _classes(self, y, sparse):
        y = _np(y)
        return y if sparse else y.argmax(axis=self.axis)

    def _cast(self, w):
        # Keras converts the weights to the metric's dtype: truncated towards zero when it is int
        return np.trunc(np.asarray(w, np.float64)).astype(np.int64) if self._int else np.asarray(w, np.float64)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = _ids(self._classes(y_true, self.sparse_y_true))
        p = _ids(self._classes(y_pred, self.sparse_y_pred))
        if t.shape != p.shape:
            raise ValueError(f"{type(self).__name__}.update_state: y_true and y_pred must hold as many class ids, got "
                             f"{t.size} and {p.size}")
        w = np.ones(t.shape) if sample_weight is None else np.broadcast_to(_np(sample_weight).reshape(-1), t.shape)
        w = self._cast(w)
        ok = (t >= 0) & (t < self.num_classes) & (p >= 0) & (p < self.num_classes)
        if self.ignore_class is not None:
            ok &= t != int(self.ignore_class)
        np.add.at(self.total_cm, (t[ok], p[ok]), w[ok])

    def result(self):
        cm = self.total_cm.astype(np.float64)
        tp = np.diag(cm)
        den = cm.sum(axis=0) + cm.sum(axis=1) - tp
        tp, den = tp[self.target_class_ids], den[self.target_class_ids]
        valid = den > 1e-9
        iou = np.where(valid, tp / (den + _EPS), 0.0)
        return float(iou.sum() / (valid.sum() + _EPS))

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype_name, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanIoU(IoU):
    """IoU averaged over every class."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
                 axis=-1):
        super().__init__(num_classes, list(range(num_classes)) if isinstance(num_classes, numbers.Integral)
                         and num_classes > 0 else [0], name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        cfg = super().get_config()
        del cfg["target_class_ids"]
        return cfg


class BinaryIoU(IoU):
    """IoU of binary targets against predictions thresholded at `threshold` (y_pred >= threshold is 1)."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = (np.asarray(_np(y_pred), np.float32) >= np.float32(self.threshold)).astype(np.int64)
        super().update_state(y_true, p, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self._dtype_name}


class OneHotIoU(IoU):
    """IoU with one-hot targets (and, unless sparse_y_pred, per-class predictions): argmax along `axis`."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        cfg = super().get_config()
        del cfg["sparse_y_true"]
        return cfg


class OneHotMeanIoU(MeanIoU):
    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        cfg = super().get_config()
        del cfg["sparse_y_true"]
        return cfg

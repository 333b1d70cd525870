"""The rest of Keras 3's everyday metrics: confusion-matrix metrics (AUC, Precision, Recall, TP/FP/TN/FN),
F1/FBeta, MeanIoU, top-k accuracies, RMSE and the loss-like mean metrics.

State is kept as float64 numpy arrays updated from each batch's arrays (never the graph).
"""
from __future__ import annotations

import numpy as np

from forgenet.losses import more_losses as L
from forgenet.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from forgenet.metrics.metrics import Mean, MeanMetricWrapper, Metric, _data

EPS = 1e-7


def _np(x):
    x = _data(x)
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def _weights(sample_weight, shape):
    if sample_weight is None:
        return np.ones(shape, np.float64)
    w = _np(sample_weight).astype(np.float64)
    while w.ndim < len(shape):
        w = w[..., None]
    return np.broadcast_to(w, shape)


def _div(a, b):  # divide_no_nan
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


# ---- confusion-matrix metrics ----------------------------------------------------------------------
class _Confusion(Metric):
    """Weighted TP/FP/TN/FN counts at each threshold (prediction > threshold is positive), as Keras's
    update_confusion_matrix_variables; top_k keeps only each row's k largest predictions, class_id one column."""

    _direction = "up"

    def __init__(self, thresholds, top_k=None, class_id=None, name=None, dtype=None, multi_label=False,
                 label_weights=None):
        self.thresholds_array = np.asarray(thresholds, np.float64).reshape(-1)
        self.top_k, self.class_id, self.multi_label = top_k, class_id, multi_label
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        super().__init__(name=name)

    def reset_state(self):
        self.true_positives = self.false_positives = self.true_negatives = self.false_negatives = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = _np(y_true).astype(np.float64)
        p = _np(y_pred).astype(np.float64)
        if t.shape != p.shape and t.ndim == p.ndim + 1 and t.shape[-1] == 1:
            t = t.reshape(t.shape[:-1])
        if t.shape != p.shape and p.ndim == t.ndim + 1 and p.shape[-1] == 1:
            p = p.reshape(p.shape[:-1])
        w = _weights(sample_weight, t.shape)
        if self.top_k is not None:
            kth = -np.sort(-p, axis=-1)[..., self.top_k - 1:self.top_k]
            p = np.where(p >= kth, p, -np.inf)
        if self.class_id is not None:
            t, p, w = t[..., self.class_id], p[..., self.class_id], w[..., self.class_id]
        pos = t != 0
        if self.multi_label:  # (T, N, L) -> counts per label (T, L)
            t2, p2, w2 = pos.reshape(-1, pos.shape[-1]), p.reshape(-1, p.shape[-1]), w.reshape(-1, w.shape[-1])
            pp = p2[None] > self.thresholds_array[:, None, None]
            w2 = w2[None]
        else:
            t2, p2, w2 = pos.reshape(-1), p.reshape(-1), w.reshape(-1)
            if self.label_weights is not None:
                w2 = (w * self.label_weights).reshape(-1)
            pp = p2[None] > self.thresholds_array[:, None]
        ax = 1
        self.true_positives = self.true_positives + ((pp & t2) * w2).sum(axis=ax)
        self.false_positives = self.false_positives + ((pp & ~t2) * w2).sum(axis=ax)
        self.true_negatives = self.true_negatives + ((~pp & ~t2) * w2).sum(axis=ax)
        self.false_negatives = self.false_negatives + ((~pp & t2) * w2).sum(axis=ax)

    def _scalar(self, v):
        v = np.asarray(v, np.float64)
        return float(v.reshape(())) if v.size == 1 else v

    def get_config(self):
        return {"name": self.name, "dtype": "float32"}


def _thresholds(thresholds, top_k):
    if thresholds is None:
        return [0.5] if top_k is None else [-1e30]  # Keras: with top_k and no threshold, every kept value counts
    return list(np.atleast_1d(thresholds))


class _ThresholdMetric(_Confusion):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        super().__init__(_thresholds(thresholds, top_k), top_k, class_id, name)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_ThresholdMetric):
    def result(self):
        return self._scalar(_div(self.true_positives, np.add(self.true_positives, self.false_positives)))


class Recall(_ThresholdMetric):
    def result(self):
        return self._scalar(_div(self.true_positives, np.add(self.true_positives, self.false_negatives)))


class _Count(_Confusion):
    _which = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        super().__init__(_thresholds(thresholds, None), name=name)

    def result(self):
        return self._scalar(getattr(self, self._which))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_Count):
    _which = "true_positives"


class FalsePositives(_Count):
    _which = "false_positives"
    _direction = "down"


class TrueNegatives(_Count):
    _which = "true_negatives"


class FalseNegatives(_Count):
    _which = "false_negatives"
    _direction = "down"


class AUC(_Confusion):
    """Area under the ROC or PR curve from confusion counts at num_thresholds thresholds (Keras's formulas,
    including the Davis & Goadrich interpolation for PR)."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR", "PRGAIN"):
            raise ValueError(f'AUC: invalid curve "{curve}"; expected one of ROC, PR, PRGAIN')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'AUC: invalid summation_method "{summation_method}"; expected interpolation, '
                             "minoring or majoring")
        if thresholds is not None:
            inner = sorted(float(v) for v in thresholds)
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be an integer > 1, got {num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._init_thresholds = thresholds
        self.curve, self.summation_method = curve, summation_method
        self.num_labels, self._from_logits = num_labels, bool(from_logits)
        super().__init__([0.0 - EPS] + inner + [1.0 + EPS], name=name, multi_label=bool(multi_label),
                         label_weights=None if multi_label else label_weights)
        self._label_weights_avg = None if label_weights is None else np.asarray(label_weights, np.float64)

    @property
    def thresholds(self):
        return list(self.thresholds_array)

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = _np(y_pred)
        super().update_state(y_true, _sigmoid(p.astype(np.float64)) if self._from_logits else p, sample_weight)

    def _average(self, by_step):
        if not self.multi_label:
            return float(np.sum(by_step))
        by_label = np.sum(by_step, axis=0)
        if self._label_weights_avg is None:
            return float(np.mean(by_label))
        return float(_div(np.sum(by_label * self._label_weights_avg), np.sum(self._label_weights_avg)))

    def result(self):
        tp, fp = np.asarray(self.true_positives, np.float64), np.asarray(self.false_positives, np.float64)
        tn, fn = np.asarray(self.true_negatives, np.float64), np.asarray(self.false_negatives, np.float64)
        if np.ndim(tp) == 0:
            return 0.0
        n = self.num_thresholds
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:n - 1] - tp[1:]
            p = tp + fp
            dp = p[:n - 1] - p[1:]
            slope = _div(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            ratio = np.where((p[:n - 1] > 0) & (p[1:] > 0), _div(p[:n - 1], np.maximum(p[1:], 0)), 1.0)
            inc = _div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
            return self._average(inc)
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _div(tp, tp + fp)
        else:
            scale = _div(tp + fn, tn + fp)
            rg = np.where(tp == 0, 0.0, 1.0 - scale * _div(fn, tp))
            pg = np.where(tp == 0, 1.0, 1.0 - scale * _div(fp, tp))
            x, y = np.maximum(rg, 0.0), pg
        if self.summation_method == "interpolation":
            h = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            h = np.minimum(y[:n - 1], y[1:])
        else:
            h = np.maximum(y[:n - 1], y[1:])
        return self._average((x[:n - 1] - x[1:]) * h)

    def get_config(self):
        cfg = {"num_thresholds": self.num_thresholds, "curve": self.curve, "summation_method": self.summation_method,
               "multi_label": self.multi_label, "num_labels": self.num_labels,
               "label_weights": None if self._label_weights_avg is None else self._label_weights_avg.tolist(),
               "from_logits": self._from_logits, **super().get_config()}
        if self._init_thresholds is not None:
            cfg["thresholds"] = list(self.thresholds_array[1:-1])
        return cfg


# ---- F-scores and IoU ------------------------------------------------------------------------------
class FBetaScore(Metric):
    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: average must be None, 'micro', 'macro' or 'weighted', "
                             f"got {average!r}")
        if not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"{type(self).__name__}: beta must be a float > 0, got {beta!r}")
        if threshold is not None and (not isinstance(threshold, float) or not 0 < threshold <= 1):
            raise ValueError(f"{type(self).__name__}: threshold must be a float in (0, 1], got {threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name=name)

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
        if self.threshold is None:
            p = ((p >= p.max(axis=-1, keepdims=True)) & (np.abs(p) > 1e-9)).astype(np.float64)
        else:
            p = (p > self.threshold).astype(np.float64)
        w = 1.0 if sample_weight is None else _np(sample_weight).astype(np.float64)[:, None]
        axis = 0 if self.average != "micro" else None
        self.true_positives = self.true_positives + (p * t * w).sum(axis=axis)
        self.false_positives = self.false_positives + (p * (1 - t) * w).sum(axis=axis)
        self.false_negatives = self.false_negatives + ((1 - p) * t * w).sum(axis=axis)
        self.intermediate_weights = self.intermediate_weights + (t * w).sum(axis=axis)

    def result(self):
        tp = np.asarray(self.true_positives, np.float64)
        precision = tp / (tp + self.false_positives + EPS)
        recall = tp / (tp + self.false_negatives + EPS)
        b2 = self.beta ** 2
        f = precision * recall / (b2 * precision + recall + EPS) * (1 + b2)
        if self.average == "weighted":
            wts = self.intermediate_weights / (np.sum(self.intermediate_weights) + EPS)
            return float(np.sum(f * wts))
        if self.average is not None:
            return float(np.mean(f))
        return f.astype(np.float32)

    def get_config(self):
        return {"name": self.name, "dtype": "float32", "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name)

    def get_config(self):
        cfg = super().get_config()
        del cfg["beta"]
        return cfg


# ---- mean metrics ----------------------------------------------------------------------------------
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return sparse_top_k_categorical_accuracy(_np(y_true).argmax(axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    p = _np(y_pred)
    t = _np(y_true).astype(np.int64)
    if from_sorted_ids:  # y_pred holds each row's top class ids, best first
        t = t.reshape(p.shape[0], -1)[:, 0] if t.ndim > 1 else t
        return (p[:, :k] == t[:, None]).any(axis=-1).astype(np.float32)
    if t.ndim == p.ndim:
        t = t.reshape(t.shape[:-1])
    flat_p = p.reshape(-1, p.shape[-1])
    tv = np.take_along_axis(flat_p, t.reshape(-1, 1), axis=-1)
    return ((flat_p > tv).sum(axis=-1) < k).astype(np.float32).reshape(t.shape)


def _cosine_similarity_metric(y_true, y_pred, axis=-1):
    return -L.cosine_similarity(y_true, y_pred, axis=axis)


def _wrap(fn, direction, default, doc=None, **fixed):
    class _W(MeanMetricWrapper):
        _direction = direction

        def __init__(self, name=default, dtype=None, **kw):
            super().__init__(fn, name=name, **{**fixed, **kw})

        def get_config(self):
            return {"name": self.name, "dtype": "float32", **self._fn_kwargs}
    _W.__doc__ = doc
    return _W


class TopKCategoricalAccuracy(_wrap(top_k_categorical_accuracy, "up", "top_k_categorical_accuracy")):
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name=name, k=int(k))


class SparseTopKCategoricalAccuracy(_wrap(sparse_top_k_categorical_accuracy, "up",
                                          "sparse_top_k_categorical_accuracy")):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(name=name, k=int(k), from_sorted_ids=bool(from_sorted_ids))


class MeanAbsolutePercentageError(_wrap(L.mean_absolute_percentage_error, "down",
                                        "mean_absolute_percentage_error")):
    pass


class MeanSquaredLogarithmicError(_wrap(L.mean_squared_logarithmic_error, "down", "mean_squared_logarithmic_error")):
    pass


class LogCoshError(_wrap(L.log_cosh, "down", "logcosh")):
    pass


class Hinge(_wrap(L.hinge, "down", "hinge")):
    pass


class SquaredHinge(_wrap(L.squared_hinge, "down", "squared_hinge")):
    pass


class CategoricalHinge(_wrap(L.categorical_hinge, "down", "categorical_hinge")):
    pass


class KLDivergence(_wrap(L.kl_divergence, "down", "kl_divergence")):
    pass


class Poisson(_wrap(L.poisson, "down", "poisson")):
    pass


class CosineSimilarity(_wrap(_cosine_similarity_metric, "up", "cosine_similarity")):
    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name=name, axis=axis)


def _crossentropy(kind):
    from forgenet import losses

    cls = {"binary": losses.BinaryCrossentropy, "categorical": losses.CategoricalCrossentropy,
           "sparse": losses.SparseCategoricalCrossentropy}[kind]

    def fn(y_true, y_pred, **kw):
        return np.asarray(cls(reduction="none", **kw)(y_true, y_pred).data)
    return fn


class BinaryCrossentropy(_wrap(_crossentropy("binary"), "down", "binary_crossentropy")):
    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(name=name, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_wrap(_crossentropy("categorical"), "down", "categorical_crossentropy")):
    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(name=name, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_wrap(_crossentropy("sparse"), "down", "sparse_categorical_crossentropy")):
    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(name=name, from_logits=from_logits, ignore_class=ignore_class)

    def get_config(self):
        return {**super().get_config(), "axis": -1}


class RootMeanSquaredError(Mean):
    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
        if t.ndim == p.ndim + 1 and t.shape[-1] == 1:
            t = t.reshape(t.shape[:-1])
        elif p.ndim == t.ndim + 1 and p.shape[-1] == 1:
            p = p.reshape(p.shape[:-1])
        super().update_state((p - t) ** 2, sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))

    def get_config(self):
        return {"name": self.name, "dtype": "float32"}


class Sum(Metric):
    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name)

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        v = _np(values).astype(np.float64)
        self.total += float((v * _weights(sample_weight, v.shape)).sum())

    def result(self):
        return self.total


class R2Score(Metric):
    """Coefficient of determination (keras.metrics.R2Score, class_aggregation and num_regressors)."""

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"R2Score: invalid class_aggregation {class_aggregation!r}")
        self.class_aggregation, self.num_regressors = class_aggregation, int(num_regressors)
        super().__init__(name=name)

    def reset_state(self):
        self.sq = self.s = self.res = self.count = 0.0
        self.n = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
        if t.ndim == 1:
            t, p = t[:, None], p.reshape(t.shape[0], -1)
        w = _weights(sample_weight, t.shape)
        self.s = self.s + (t * w).sum(axis=0)
        self.sq = self.sq + (t * t * w).sum(axis=0)
        self.res = self.res + ((t - p) ** 2 * w).sum(axis=0)
        self.count = self.count + w.sum(axis=0)
        self.n += t.size  # Keras counts elements, not rows

    def result(self):
        mean = self.s / self.count
        total = self.sq - self.s * mean
        raw = 1 - _div(self.res, total)
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = np.sum(raw * total / np.sum(total))
        else:
            r2 = raw
        if self.num_regressors:
            n, k = self.n, self.num_regressors
            if n - k - 1 > 0:
                r2 = 1 - (1 - r2) * (n - 1) / (n - k - 1)
        return float(r2) if np.ndim(r2) == 0 else r2

    def get_config(self):
        return {"name": self.name, "dtype": "float32", "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


CLASSES = (AUC, Precision, Recall, TruePositives, FalsePositives, TrueNegatives, FalseNegatives, FBetaScore, F1Score,
           IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanAbsolutePercentageError,
           MeanSquaredLogarithmicError, LogCoshError, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
           CosineSimilarity, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
           RootMeanSquaredError, Sum, R2Score)

# metric strings compile() accepts, as keras.metrics.get resolves them
ALIASES = {
    "auc": AUC, "precision": Precision, "recall": Recall, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
    "logcosh": LogCoshError, "log_cosh": LogCoshError, "hinge": Hinge, "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge, "kl_divergence": KLDivergence, "kld": KLDivergence, "poisson": Poisson,
    "cosine_similarity": CosineSimilarity, "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "root_mean_squared_error": RootMeanSquaredError, "rmse": RootMeanSquaredError,
}

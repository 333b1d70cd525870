"""Metrics with Keras 3's names and its resolution of "accuracy" from the targets' and predictions' shapes."""
from __future__ import annotations

from forgenet.metrics.metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy, Mean, MeanAbsoluteError,
                                      MeanMetricWrapper, MeanSquaredError, Metric, SparseCategoricalAccuracy,
                                      accuracy, binary_accuracy, categorical_accuracy, mean_absolute_error,
                                      mean_squared_error, sparse_categorical_accuracy)
from forgenet.metrics import more_metrics as _more
from forgenet.metrics.iou import BinaryIoU, IoU, OneHotIoU, OneHotMeanIoU
from forgenet.metrics.more_metrics import (AUC, BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
                                           CosineSimilarity, F1Score, FalseNegatives, FalsePositives, FBetaScore,
                                           Hinge, KLDivergence, LogCoshError, MeanAbsolutePercentageError, MeanIoU,
                                           MeanSquaredLogarithmicError, Poisson, Precision, R2Score, Recall,
                                           RootMeanSquaredError, SparseCategoricalCrossentropy,
                                           SparseTopKCategoricalAccuracy, SquaredHinge, Sum,
                                           TopKCategoricalAccuracy, TrueNegatives, TruePositives,
                                           sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)

_BY_NAME = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_CLASSES = {c.__name__: c for c in (SparseCategoricalAccuracy, CategoricalAccuracy, BinaryAccuracy, Accuracy,
                                    MeanSquaredError, MeanAbsoluteError, Mean)}
_BY_NAME.update(_more.ALIASES)
_CLASSES.update({c.__name__: c for c in _more.CLASSES})
_VALID = sorted(["accuracy", "acc", *_BY_NAME])


def check(identifier) -> None:
    """Fail at compile time (not at the first batch) on an unknown metric."""
    if identifier is None or isinstance(identifier, Metric) or (callable(identifier) and not isinstance(identifier, str)):
        return
    if isinstance(identifier, str) and (identifier.lower() in ("accuracy", "acc") or identifier in _BY_NAME
                                        or identifier in _CLASSES):
        return
    raise ValueError(f"Unknown metric {identifier!r}; expected one of {_VALID}, a Metric instance or a function "
                     "(y_true, y_pred) -> per-sample values")


def is_binary_or_sparse(y_true, y_pred):
    """Keras's is_binary_or_sparse_categorical: (binary, sparse) from the shapes, for "accuracy" / "crossentropy"."""
    t_shape, p_shape = tuple(y_true.shape), tuple(y_pred.shape)
    is_binary = p_shape[-1:] == (1,)
    is_sparse = len(t_shape) < len(p_shape) or (t_shape[-1:] == (1,) and p_shape[-1:] != (1,))
    return is_binary, is_sparse


def get(identifier, y_true=None, y_pred=None) -> Metric:
    """A Metric for a name, instance or function. "accuracy"/"acc" resolve as Keras 3 does
    (compile_utils.get_metric): binary when y_pred's last axis is 1, sparse categorical when y_true has
    lower rank or a last axis of 1 against several classes, categorical otherwise; the name stays as given."""
    check(identifier)
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        if y_true is None or y_pred is None:
            raise ValueError("metrics.get: resolving 'accuracy' needs y_true and y_pred (their shapes decide its kind)")
        is_binary, is_sparse = is_binary_or_sparse(y_true, y_pred)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        return cls(name=identifier)
    if isinstance(identifier, str):
        return (_BY_NAME.get(identifier) or _CLASSES[identifier])(name=identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    return MeanMetricWrapper(identifier)


__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "SparseCategoricalAccuracy", "CategoricalAccuracy",
           "BinaryAccuracy", "MeanSquaredError", "MeanAbsoluteError", "sparse_categorical_accuracy",
           "categorical_accuracy", "binary_accuracy", "accuracy", "mean_squared_error", "mean_absolute_error",
           "get", "check", "is_binary_or_sparse", *(c.__name__ for c in _more.CLASSES), "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy"]

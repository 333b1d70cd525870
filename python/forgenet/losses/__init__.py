"""Losses with Keras 3's names (`"sparse_categorical_crossentropy"`, `"mse"`, ...) and formulas."""
from __future__ import annotations

from forgenet.losses.losses import (BinaryCrossentropy, CategoricalCrossentropy, Loss, LossFunctionWrapper,
                                    MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy,
                                    binary_crossentropy, categorical_crossentropy, mean_absolute_error,
                                    mean_squared_error, sparse_categorical_crossentropy)

_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_CLASSES = {c.__name__: c for c in (SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy,
                                    MeanSquaredError, MeanAbsoluteError)}


def get(identifier) -> Loss:
    """A loss from a Keras name, a class name, a config dict, a Loss instance or a function."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown loss class {identifier.get('class_name')!r}; expected one of {sorted(_CLASSES)}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _CLASSES.get(identifier)
        if cls is not None:
            return cls()
    elif callable(identifier):
        if isinstance(identifier, type) and issubclass(identifier, Loss):
            return identifier()
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(_BY_NAME)}, a Loss instance or a "
                     "function (y_true, y_pred) -> per-sample losses")


def serialize(loss: Loss) -> dict | None:
    if type(loss).__name__ in _CLASSES:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return None  # a user function: not serialisable by name


__all__ = ["Loss", "LossFunctionWrapper", "SparseCategoricalCrossentropy", "CategoricalCrossentropy",
           "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "sparse_categorical_crossentropy",
           "categorical_crossentropy", "binary_crossentropy", "mean_squared_error", "mean_absolute_error",
           "get", "serialize"]

"""Losses with Keras 3's names (`"sparse_categorical_crossentropy"`, `"mse"`, ...) and formulas."""
from __future__ import annotations

from forgenet.losses.losses import (BinaryCrossentropy, CategoricalCrossentropy, Loss, LossFunctionWrapper,
                                    MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy,
                                    binary_crossentropy, categorical_crossentropy, mean_absolute_error,
                                    mean_squared_error, sparse_categorical_crossentropy)
from forgenet.losses import more_losses as _more
from forgenet.losses.more_losses import (BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalHinge,
                                         CosineSimilarity, Dice, Hinge, Tversky, dice, tversky, Huber, KLDivergence, LogCosh,
                                         MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Poisson,
                                         SquaredHinge, binary_focal_crossentropy, categorical_focal_crossentropy,
                                         categorical_hinge, cosine_similarity, hinge, huber, kl_divergence, log_cosh,
                                         mean_absolute_percentage_error, mean_squared_logarithmic_error, poisson,
                                         squared_hinge)

_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_CLASSES = {c.__name__: c for c in (SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy,
                                    MeanSquaredError, MeanAbsoluteError)}
_BY_NAME.update(_more.ALIASES)
_CLASSES.update({c.__name__: c for c in _more.CLASSES})


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
           "get", "serialize", "deserialize", *(c.__name__ for c in _more.CLASSES),
           "huber", "log_cosh", "kl_divergence", "poisson", "cosine_similarity", "hinge", "squared_hinge",
           "categorical_hinge", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
           "categorical_focal_crossentropy", "binary_focal_crossentropy", "dice", "tversky"]


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and custom_objects and config in custom_objects:
        return get(custom_objects[config])
    return get(config)

"""Putting arrays read from a file into a model's variables: every shape and dtype is checked for every
weight before the first one is assigned, so a bad file leaves the model as it was."""
from __future__ import annotations

import numpy as np

FLOAT_KINDS = "f"  # float16/32/64 are widened or rounded to float32 like Keras; ints/bools are refused


def check_array_meta(who, path, label, dtype, shape, want_shape):
    dtype = np.dtype(dtype)
    if dtype.kind not in FLOAT_KINDS:
        raise ValueError(f"{who}: {path}: weight {label} has dtype {dtype}; forgenet's weights are float32 and "
                         f"are not cast from {dtype}")
    if tuple(shape) != tuple(want_shape):
        raise ValueError(f"{who}: {path}: weight {label} has shape {tuple(shape)} in the file but the model expects "
                         f"{tuple(want_shape)}")


def assign(variable, array) -> None:
    """Copy array (numpy) into a model Variable (on its device)."""
    data = variable.data
    xp = np if isinstance(data, np.ndarray) else __import__("cupy")
    variable.assign(xp.asarray(np.asarray(array, dtype=np.float32)))

"""Putting arrays read from a file into a model's variables: every shape and dtype is checked for every
weight before the first one is assigned, so a bad file leaves the model as it was."""
from __future__ import annotations

import numpy as np

FLOAT_KINDS = "f"  # float16/32/64 are widened or rounded to float32 like Keras; ints/bools are refused


def check_array_meta(who, path, label, dtype, shape, want_shape, model="?", where=""):
    """label: the model's weight name; where: its place in the file."""
    dtype = np.dtype(dtype)
    where = f" ({where})" if where else ""
    if dtype.kind not in FLOAT_KINDS:
        raise ValueError(f"{who}: {path} holds weight {label!r}{where} as {dtype}; forgenet's weights are float32 "
                         f"and are not cast from {dtype}")
    if tuple(shape) != tuple(want_shape):
        raise ValueError(f"{who}: weight {label!r} of model {model!r} has shape {tuple(want_shape)} but {path} holds "
                         f"shape {tuple(shape)} for it{where}")


def assign(variable, array) -> None:
    """Copy array (numpy) into a model Variable (on its device)."""
    data = variable.data
    xp = np if isinstance(data, np.ndarray) else __import__("cupy")
    variable.assign(xp.asarray(np.asarray(array, dtype=np.float32)))

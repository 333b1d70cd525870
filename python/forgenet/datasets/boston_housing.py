"""Boston housing prices, as keras.datasets.boston_housing (Keras's boston_housing.npz)."""
from __future__ import annotations

import numpy as np

from forgenet.datasets._keras_files import locate
from forgenet.datasets._safe_pickle import load_npz


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: test_split must be in [0, 1), got {test_split}")
    f = load_npz(locate("boston_housing", "boston_housing.npz", path))
    x, y = f["x"], f["y"]
    rng = np.random.RandomState(seed)
    i = np.arange(len(x))
    rng.shuffle(i)
    x, y = x[i], y[i]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))

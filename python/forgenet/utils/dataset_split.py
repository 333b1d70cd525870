"""keras.utils.split_dataset for in-memory data.

Keras returns two tf.data.Datasets; forgenet has no tf.data, so the halves come back in the input's
own structure (an array, or a tuple/list/dict of arrays of one length), ready for fit().
"""
from __future__ import annotations


import numpy as np


def _length(dataset):
    if isinstance(dataset, dict):
        lens = {len(v) for v in dataset.values()}
    elif isinstance(dataset, (list, tuple)) and dataset and hasattr(dataset[0], "__len__") and \
            not np.isscalar(dataset[0]) and hasattr(dataset[0], "shape"):
        lens = {len(v) for v in dataset}
    else:
        return len(dataset), False
    if len(lens) != 1:
        raise ValueError(f"split_dataset: the arrays of the dataset must have one length, got lengths {sorted(lens)}")
    return lens.pop(), True


def _take(dataset, idx, nested):
    if not nested:
        return np.asarray(dataset)[idx]
    if isinstance(dataset, dict):
        return {k: np.asarray(v)[idx] for k, v in dataset.items()}
    return type(dataset)(np.asarray(v)[idx] for v in dataset)


def _sizes(n, left_size, right_size):
    """Keras's _rescale_dataset_split_sizes: ints are counts in (0, n), floats fractions in (0, 1)."""
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: at least one of `left_size` or `right_size` must be specified, got both None")
    for name, v in (("left_size", left_size), ("right_size", right_size)):
        if v is not None and type(v) not in (int, float):
            raise TypeError(f"split_dataset: invalid `{name}` type; expected int or float or None, got "
                            f"type({name})={type(v)}")
        if (type(v) is int and not 0 < v < n) or (type(v) is float and not 0 < v < 1):
            raise ValueError(f"split_dataset: `{name}` should be either a positive integer smaller than {n}, or a "
                             f"float within the range (0, 1), got {name}={v}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("split_dataset: the sum of `left_size` and `right_size` is greater than 1")
    left = round(left_size * n) if type(left_size) is float else left_size
    right = round(right_size * n) if type(right_size) is float else right_size
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left + right > n:
        raise ValueError(f"split_dataset: the sum of `left_size` and `right_size` should be smaller than {n}, got "
                         f"{left + right}")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: with a dataset of length {n}, left_size={left_size} and "
                         f"right_size={right_size} leave one split empty")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """(left, right) splits of `dataset`; sizes are counts (int) or fractions (float), as in Keras."""
    n, nested = _length(dataset)
    left, right = _sizes(n, left_size, right_size)
    idx = np.arange(n)
    if shuffle:
        np.random.default_rng(np.random.randint(1e6) if seed is None else seed).shuffle(idx)
    return _take(dataset, idx[:left], nested), _take(dataset, idx[left:left + right], nested)



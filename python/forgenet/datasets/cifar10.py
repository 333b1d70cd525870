"""CIFAR-10, as keras.datasets.cifar10: the python batches in cifar-10-batches-py/ (read through a
restricted unpickler), returned channels last."""
from __future__ import annotations

import pathlib

import numpy as np

from forgenet.datasets._keras_files import locate
from forgenet.datasets._safe_pickle import load_pickle


def load_batch(fpath, label_key="labels"):
    """(data (n, 3, 32, 32) uint8, labels) of one batch file, as keras.datasets.cifar.load_batch."""
    with open(fpath, "rb") as f:
        d = load_pickle(f, encoding="bytes")
    if not isinstance(d, dict):
        raise ValueError(f"cifar10: {fpath} does not hold a batch dict")
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    data = np.asarray(d["data"], np.uint8)
    return data.reshape(data.shape[0], 3, 32, 32), d[label_key]


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)): x uint8 (n, 32, 32, 3), y uint8 (n, 1)."""
    folder = locate("cifar10", "cifar-10-batches-py", path)
    folder = pathlib.Path(folder)
    x_train = np.empty((50000, 3, 32, 32), dtype="uint8")
    y_train = np.empty((50000,), dtype="uint8")
    n = 0
    for i in range(1, 6):
        data, labels = load_batch(locate("cifar10", f"data_batch_{i}", folder))
        x_train[n:n + len(data)], y_train[n:n + len(data)] = data, labels
        n += len(data)
    x_train, y_train = x_train[:n], y_train[:n]  # a reduced copy (fewer rows per batch) loads too
    x_test, y_test = load_batch(locate("cifar10", "test_batch", folder))
    y_train = y_train.reshape(len(y_train), 1)
    y_test = np.asarray(y_test, dtype="uint8").reshape(len(y_test), 1)
    return (x_train.transpose(0, 2, 3, 1), y_train), (x_test.transpose(0, 2, 3, 1), y_test)

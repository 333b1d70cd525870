"""Fashion-MNIST, as keras.datasets.fashion_mnist: the four gzipped IDX files Keras downloads."""
from __future__ import annotations

import gzip
import pathlib

import numpy as np

from forgenet.datasets._keras_files import locate

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz")


def _read(p: pathlib.Path, offset: int) -> np.ndarray:
    try:
        with gzip.open(p, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"fashion_mnist: {p} is not a readable gzipped IDX file ({e})") from None


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)), uint8, images (n, 28, 28). `path`: the folder with the files."""
    files = [locate("fashion_mnist", name, path) for name in FILES]
    y_train, y_test = _read(files[0], 8), _read(files[2], 8)
    x_train = _read(files[1], 16).reshape(len(y_train), 28, 28)
    x_test = _read(files[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)

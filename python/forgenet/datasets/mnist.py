"""MNIST handwritten digits, as `keras.datasets.mnist`.

`load_data()` reads the four original IDX files (gzipped or not). Without them it falls back to a
small real sample shipped inside the package, so examples and tests run anywhere.
"""
from __future__ import annotations

import gzip
import os
import pathlib
import warnings

import numpy as np

from forgenet.datasets import _common

FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
SAMPLE = pathlib.Path(__file__).resolve().parent / "data" / "mnist_sample.npz"

_said_sample = False


def default_dirs() -> list[pathlib.Path]:
    """Where `load_data()` looks when no path is given, in order."""
    return _common.default_dirs("mnist")


def _find(directory: pathlib.Path, stem: str) -> pathlib.Path | None:
    for name in (stem, stem + ".gz"):
        p = directory / name
        if p.is_file():
            return p
    return None


def _read_raw(p: pathlib.Path) -> bytes:
    if p.suffix == ".gz":
        try:
            with gzip.open(p, "rb") as f:
                return f.read()
        except (OSError, EOFError) as e:  # truncated or corrupt gzip stream
            raise ValueError(f"mnist: {p} is not a readable gzip file ({e})") from None
    return p.read_bytes()


def read_idx(p: str | os.PathLike, *, magic: int, ndim: int) -> np.ndarray:
    """One IDX file of uint8 data: a big-endian int32 header (magic, then `ndim` sizes), then the bytes."""
    p = pathlib.Path(p)
    raw = _read_raw(p)
    header = 4 * (1 + ndim)
    if len(raw) >= 4 and int.from_bytes(raw[:4], "big") != magic:
        raise ValueError(f"mnist: {p} has magic number {int.from_bytes(raw[:4], 'big')}, expected {magic}")
    if len(raw) < header:
        raise ValueError(f"mnist: {p} is truncated: expected a {header}-byte header, got {len(raw)} bytes")
    fields = np.frombuffer(raw, dtype=">i4", count=1 + ndim)
    dims = tuple(int(d) for d in fields[1:])
    if any(d < 0 for d in dims):
        raise ValueError(f"mnist: {p} has negative sizes {dims} in its header")
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(f"mnist: {p} is {what}: header {dims} means {expected} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _load_dir(directory: pathlib.Path, paths: dict[str, pathlib.Path]):
    arrays = {}
    for key, p in paths.items():
        is_images = key.startswith("x")
        a = read_idx(p, magic=IMAGES_MAGIC if is_images else LABELS_MAGIC, ndim=3 if is_images else 1)
        if is_images and a.shape[1:] != (28, 28):
            raise ValueError(f"mnist: {p} holds images of {a.shape[1]}x{a.shape[2]}, expected 28x28")
        arrays[key] = a
    for split in ("train", "test"):
        nx, ny = len(arrays["x_" + split]), len(arrays["y_" + split])
        if nx != ny:
            raise ValueError(f"mnist: {paths['x_' + split].name} holds {nx} images but "
                             f"{paths['y_' + split].name} holds {ny} labels (in {directory})")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _locate(directory: pathlib.Path):
    """The four files in `directory` as {key: path}, or (None, the names missing)."""
    found = {k: _find(directory, stem) for k, stem in FILES.items()}
    missing = [FILES[k] + "[.gz]" for k, p in found.items() if p is None]
    return (None, missing) if missing else (found, [])


def load_sample():
    """The bundled sample of real MNIST (a balanced subset; see scripts/make_mnist_sample.py)."""
    with np.load(SAMPLE) as z:
        return (z["x_train"], z["y_train"]), (z["x_test"], z["y_test"])


def load_data(path: str | os.PathLike | None = None):
    """Return `((x_train, y_train), (x_test, y_test))`: uint8 images (n, 28, 28) and labels (n,).

    path: a folder holding the four IDX files (gzipped or not). Without it, `$FORGENET_DATA/mnist`
    then `~/.forgenet/datasets/mnist` are tried, and failing those the bundled sample is returned.
    """
    global _said_sample
    if path is not None:
        directory = pathlib.Path(path).expanduser()
        paths, missing = _locate(directory)
        if paths is None:
            raise FileNotFoundError(f"mnist.load_data: {directory} lacks {', '.join(missing)} "
                                    f"(looked for the four MNIST IDX files, gzipped or not)")
        return _load_dir(directory, paths)
    for directory in default_dirs():
        paths, _ = _locate(directory)
        if paths is not None:
            return _load_dir(directory, paths)
    data = load_sample()
    if not _said_sample:
        _said_sample = True
        looked = " or ".join(str(d) for d in default_dirs())
        msg = (f"forgenet.datasets.mnist: no full MNIST found in {looked}; using the bundled sample "
               f"({len(data[0][0])} training and {len(data[1][0])} test images of real MNIST)")
        warnings.warn(msg, stacklevel=2)
    return data

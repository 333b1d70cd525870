"""Reading Keras's dataset files without running arbitrary pickled code.

imdb.npz / reuters.npz hold object arrays (lists of word ids) that numpy only reads with
allow_pickle=True, and the CIFAR-10 batches are Python pickles: a pickle can call any importable
function while loading. Here they go through an Unpickler whose find_class allows only what those
files contain (numpy arrays and dtypes; lists, dicts, ints and bytes need no globals), so a tampered
file fails with a clear error instead of running code.
"""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: dataset files hold only numpy arrays, "
                                     "lists, dicts, numbers and bytes (the file may have been tampered with)")


def load_pickle(f, encoding="ASCII"):
    """pickle.load restricted to numpy arrays and plain containers."""
    return _Restricted(f, encoding=encoding).load()


def _read_npy(raw: bytes, what: str) -> np.ndarray:
    f = io.BytesIO(raw)
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f)
    if dtype.hasobject:
        arr = load_pickle(f, encoding="latin1")
        if not isinstance(arr, np.ndarray):
            raise ValueError(f"{what}: expected a pickled numpy array, got {type(arr).__name__}")
        return arr
    data = np.frombuffer(f.read(), dtype=dtype, count=int(np.prod(shape)) if shape else 1)
    return data.reshape(shape, order="F" if fortran else "C")


def load_npz(path) -> dict:
    """The arrays of an .npz file by name, object arrays included (through the restricted unpickler)."""
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                key = name[:-4] if name.endswith(".npy") else name
                out[key] = _read_npy(z.read(name), f"{path}:{name}")
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path} is not a readable .npz file ({e})") from None
    return out

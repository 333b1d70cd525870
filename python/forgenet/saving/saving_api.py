"""save_model / load_model / save_weights / load_weights: Keras's formats by suffix (`.keras`, `.weights.h5`),
forgenet's safetensors format otherwise (`.fgn`, `.safetensors`, ...)."""
from __future__ import annotations

import os

from forgenet.saving import fgn_file, fileio, keras_file

_ZIP, _HDF5 = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"


def _suffix(filepath) -> str:
    return os.fspath(filepath).lower() if isinstance(os.fspath(filepath), str) else os.fsdecode(filepath).lower()


def _head(filepath, who) -> bytes:
    """The first bytes, and for a zip whether it is one (a damaged one goes to the forgenet reader's messages
    unless it is named .keras)."""
    import zipfile

    what = "Keras model file" if _suffix(filepath).endswith(".keras") else "forgenet model file"
    if who == "load_weights":
        what = what.replace("model", "weights")
    with fileio.open_regular(filepath, who, what) as f:
        head = f.read(16)
        if head.startswith(_ZIP) and not _suffix(filepath).endswith(".keras"):
            f.seek(0)
            if not zipfile.is_zipfile(f):
                return b""
        return head


def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs):
    """model.save: `.keras` writes Keras 3's format; any other suffix forgenet's one-file safetensors format."""
    if kwargs:
        raise TypeError(f"save_model: unexpected keyword arguments {sorted(kwargs)}")
    name = _suffix(filepath)
    if name.endswith(".h5") or name.endswith(".hdf5"):
        raise ValueError(f"save_model: {os.fspath(filepath)}: the legacy Keras 2 HDF5 model format is not supported; "
                         "use a .keras file (Keras 3's format) or .fgn")
    if name.endswith(".keras"):
        keras_file.save_keras(model, filepath, overwrite, include_optimizer)
    else:
        fgn_file.save_fgn(model, filepath, overwrite, include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a saved model (architecture, weights, compile settings, optimizer state). Never runs code
    from the file: a saved lambda is refused unless safe_mode=False."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"load_model: custom_objects must be a dict of name -> class/function, got "
                        f"{type(custom_objects).__name__}")
    head = _head(filepath, "load_model")
    if head.startswith(_ZIP) or _suffix(filepath).endswith(".keras"):
        return keras_file.load_keras(filepath, custom_objects, compile, safe_mode)
    if head.startswith(_HDF5):
        raise ValueError(f"load_model: {os.fspath(filepath)} is an HDF5 file: a legacy Keras 2 model or a weights "
                         "file; forgenet loads .keras models, and weights with model.load_weights")
    return fgn_file.load_fgn(filepath, custom_objects, compile, safe_mode)


def save_weights(model, filepath, overwrite=True):
    if _suffix(filepath).endswith(".h5"):
        keras_file.save_weights_h5(model, filepath, overwrite)
    else:
        fgn_file.save_fgn_weights(model, filepath, overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    if skip_mismatch or kwargs:
        raise ValueError(f"load_weights: skip_mismatch and {sorted(kwargs)} are not supported")
    head = _head(filepath, "load_weights")
    if head.startswith(_HDF5):
        keras_file.load_weights_h5(model, filepath)
    elif head.startswith(_ZIP):
        _load_weights_from_keras(model, filepath)
    else:
        fgn_file.load_fgn_weights(model, filepath)


def _load_weights_from_keras(model, filepath):
    """The weights of a .keras archive into a built model."""
    import io
    import zipfile

    kf = keras_file
    who, path = "load_weights", str(filepath)
    if not model.built:
        raise ValueError(f"{who}: model {model.name!r} has not been built yet; build it before loading {path}")
    with fileio.open_regular(filepath, who, "Keras model file") as f:
        size = kf.fileio_size(f)
        try:
            with zipfile.ZipFile(f) as zf:
                data = kf._zip_member(zf, kf.WEIGHTS, path, who, max(size * 100, 1 << 20))
        except zipfile.BadZipFile as e:
            raise ValueError(f"{who}: {path} is not a .keras archive ({e})") from None
    store = kf.H5Weights(io.BytesIO(data), path, who, len(data))
    try:
        kf.restore(model, store, who)
    finally:
        store.close()

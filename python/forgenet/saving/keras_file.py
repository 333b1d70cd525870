"""Keras 3's files: `.keras` (a zip of config.json, metadata.json and model.weights.h5) and
`.weights.h5` (the same HDF5 layout alone), read and written with h5py in Keras's layout
(forgenet.saving.keras_layout), so files move between Keras and forgenet both ways.

Reading trusts nothing: zip members must not expand beyond a bounded ratio of their stored size;
HDF5 links, external and virtual datasets are refused, as is a dataset that declares far more bytes
than it stores; every weight's dtype and shape is checked before any is assigned; the architecture
is rebuilt under a budget of the weight values the file really holds.
"""
from __future__ import annotations

import datetime
import io
import json
import math
import warnings
import zipfile

import numpy as np

from forgenet.saving import fileio, limits
from forgenet.saving.assign import assign, check_array_meta
from forgenet.saving.keras_layout import _Scalar, _Slot, entries

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"


def _h5py(who):
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{who}: Keras's .keras / .weights.h5 files need h5py (pip install h5py)") from None
    return h5py


# ---- writing -----------------------------------------------------------------------------------
def h5_bytes(model, include_optimizer=True) -> bytes:
    h5py = _h5py("save")
    bio = io.BytesIO()
    with h5py.File(bio, "w") as h5:
        for e in entries(model, include_optimizer):
            group = h5.create_group(f"{e.path}/vars" if e.path else "vars")
            if e.name is not None:
                group.attrs["name"] = e.name
            for i, v in enumerate(e.variables):
                group[str(i)] = np.asarray(v.numpy())
    return bio.getvalue()


def save_keras(model, filepath, overwrite=True, include_optimizer=True):
    from forgenet import __version__
    from forgenet.saving.serialization_lib import serialize_keras_object

    who = "save_model"
    if not model.built:
        raise ValueError(f"{who}: model {model.name!r} has not been built yet (its weights do not exist); call it "
                         "on data, fit it, or build(input_shape) first")
    config = serialize_keras_object(model)
    if getattr(model, "compiled", False) and "compile_config" not in config:
        warnings.warn(f"{who}: the compile() arguments of {model.name!r} include a function that cannot be saved by "
                      "name; the loaded model will need compile() again", stacklevel=3)
    config_json = json.dumps(config)
    meta = json.dumps({"keras_version": "3.0.0", "forgenet_version": __version__,
                       "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = h5_bytes(model, include_optimizer)

    def write(f):
        with zipfile.ZipFile(f, "w") as zf:  # stored, as Keras writes it
            zf.writestr(METADATA, meta)
            zf.writestr(CONFIG, config_json)
            zf.writestr(WEIGHTS, weights)

    fileio.atomic_write(filepath, write, who, overwrite)


def save_weights_h5(model, filepath, overwrite=True):
    who = "save_weights"
    if not model.built:
        raise ValueError(f"{who}: model {model.name!r} has not been built yet (its weights do not exist); call it "
                         "on data, fit it, or build(input_shape) first")
    data = h5_bytes(model)
    fileio.atomic_write(filepath, lambda f: f.write(data), who, overwrite)


# ---- reading -----------------------------------------------------------------------------------
def _zip_member(zf, name, path, who, max_bytes):
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ValueError(f"{who}: {path} is not a Keras model file (no {name} in the archive)") from None
    if info.file_size > max_bytes:
        raise ValueError(f"{who}: {path}: {name} declares {info.file_size} bytes (more than the {max_bytes} "
                         "allowed)")
    if info.file_size > max(limits.ZIP_EXPANSION_FLOOR, limits.ZIP_MAX_EXPANSION * info.compress_size):
        raise ValueError(f"{who}: {path}: {name} declares {info.file_size} bytes but stores {info.compress_size}; "
                         "refusing a possible decompression bomb")
    try:
        with zf.open(info) as m:
            data = m.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        raise ValueError(f"{who}: {path}: cannot read {name} from the archive ({type(e).__name__}: {e})") from None
    if len(data) != info.file_size:
        raise ValueError(f"{who}: {path}: {name} holds {len(data)} bytes, not the {info.file_size} it declares")
    return data


def _json(data, path, who, what):
    try:
        return json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError) as e:
        raise ValueError(f"{who}: {path}: damaged {what} ({type(e).__name__})") from None


class H5Weights:
    """A validated, read-only view of a Keras weights file."""

    def __init__(self, data_or_file, path, who, real_size):
        h5py = _h5py(who)
        self.path, self.who = path, who
        try:
            self.h5 = h5py.File(data_or_file, "r")
        except (OSError, ValueError) as e:
            raise ValueError(f"{who}: {path} is not a readable HDF5 weights file ({e})") from None
        self.elements = 0  # float values stored outside the optimizer (the weight budget)
        self._check(h5py, real_size)

    def _check(self, h5py, real_size):
        declared_total = 0

        def visit(group, prefix, depth):
            nonlocal declared_total
            if depth > 64:
                raise ValueError(f"{self.who}: {self.path}: HDF5 groups nest deeper than 64 levels")
            for key in group:
                link = group.get(key, getlink=True)
                if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                    raise ValueError(f"{self.who}: {self.path}: HDF5 {type(link).__name__} {prefix}{key} refused")
                obj = group[key]
                if isinstance(obj, h5py.Group):
                    visit(obj, f"{prefix}{key}/", depth + 1)
                    continue
                if not isinstance(obj, h5py.Dataset):
                    raise ValueError(f"{self.who}: {self.path}: unexpected HDF5 object {prefix}{key}")
                if obj.external or obj.is_virtual:
                    raise ValueError(f"{self.who}: {self.path}: external/virtual HDF5 dataset {prefix}{key} refused")
                declared = math.prod(obj.shape or ()) * obj.dtype.itemsize
                stored = obj.id.get_storage_size()
                if declared > max(limits.H5_EXPANSION_FLOOR, limits.H5_MAX_EXPANSION * stored):
                    raise ValueError(f"{self.who}: {self.path}: dataset {prefix}{key} declares {declared} bytes but "
                                     f"stores {stored}; refusing a possible shape/decompression bomb")
                declared_total += declared
                if obj.dtype.kind == "f" and not prefix.startswith("optimizer/"):
                    self.elements += math.prod(obj.shape or ())

        try:
            visit(self.h5, "", 0)
        except (RuntimeError, OSError, KeyError, TypeError, ValueError) as e:  # h5py on a damaged file
            if isinstance(e, ValueError) and str(e).startswith(self.who):
                raise
            raise ValueError(f"{self.who}: {self.path}: damaged HDF5 file ({type(e).__name__}: {e})") from None
        if declared_total > max(limits.H5_EXPANSION_FLOOR, limits.H5_MAX_EXPANSION * real_size):
            raise ValueError(f"{self.who}: {self.path}: the datasets declare {declared_total} bytes in a "
                             f"{real_size}-byte file; refusing it")

    def group(self, path):
        key = f"{path}/vars" if path else "vars"
        return self.h5[key] if key in self.h5 else None

    def close(self):
        self.h5.close()


def _plan(model, store, who, with_optimizer):
    """[(target, dataset)] for every weight, every check done; raises before any assignment."""
    plan, opt_plan = [], []
    for e in entries(model, include_optimizer=with_optimizer):
        is_opt = bool(e.variables) and isinstance(e.variables[0], _Scalar)
        group = store.group(e.path)
        n_file = 0 if group is None else len([k for k in group.keys()])
        if is_opt:
            if group is None:
                continue
            if n_file != len(e.variables):
                warnings.warn(f"{who}: {store.path}: the optimizer state holds {n_file} variables but "
                              f"{model.name!r}'s optimizer has {len(e.variables)}; it is not restored (the "
                              "optimizer starts fresh)", stacklevel=4)
                continue
            for i, v in enumerate(e.variables):
                ds = group[str(i)] if str(i) in group else None
                want = v.shape if isinstance(v, _Slot) else tuple(v.value.shape)
                if ds is None or tuple(ds.shape) != tuple(want) or ds.dtype.kind not in "fiu":
                    warnings.warn(f"{who}: {store.path}: the optimizer state does not fit {model.name!r}'s optimizer "
                                  f"(variable {i}); it is not restored", stacklevel=4)
                    opt_plan = []
                    break
                opt_plan.append((v, ds))
            continue
        if n_file != len(e.variables):
            where = e.path or "the model itself"
            raise ValueError(f"{who}: {store.path}: layer {e.name!r} ({where}) expects {len(e.variables)} weights but "
                             f"the file holds {n_file} there")
        for i, v in enumerate(e.variables):
            if str(i) not in group:
                raise ValueError(f"{who}: {store.path}: weight {i} of layer {e.name!r} is missing at {e.path}/vars")
            ds = group[str(i)]
            if not hasattr(ds, "shape"):
                raise ValueError(f"{who}: {store.path}: {e.path}/vars/{i} is not a dataset")
            check_array_meta(who, store.path, v.name, ds.dtype, ds.shape, v.shape, model.name, f"{e.path}/vars/{i}")
            plan.append((v, ds))
    return plan, opt_plan


def _read(ds, store):
    try:
        return np.asarray(ds[()])
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        raise ValueError(f"{store.who}: {store.path}: cannot read {ds.name} ({type(e).__name__}: {e})") from None


def restore(model, store, who, with_optimizer=True):
    try:
        _restore(model, store, who, with_optimizer)
    except (RuntimeError, OSError, KeyError, TypeError, ValueError) as e:  # h5py on a damaged file
        if isinstance(e, ValueError) and str(e).startswith(who):
            raise
        raise ValueError(f"{who}: {store.path}: damaged HDF5 file ({type(e).__name__}: {e})") from None


def _restore(model, store, who, with_optimizer=True):
    opt = getattr(model, "optimizer", None)
    if with_optimizer and opt is not None and not opt.built:
        g = store.group("optimizer")
        if g is not None and len(g.keys()) > 2 and model.trainable_weights:
            opt.build(model.trainable_weights)
    plan, opt_plan = _plan(model, store, who, with_optimizer and opt is not None)
    arrays = [(v, _read(ds, store)) for v, ds in plan]
    for v, a in arrays:
        assign(v, a)
    for v, ds in opt_plan:
        a = _read(ds, store)
        if isinstance(v, _Slot):
            dst = v.arrays[v.i]
            dst[...] = (np if isinstance(dst, np.ndarray) else __import__("cupy")).asarray(a, dtype=dst.dtype)
        elif v.name == "iterations":
            opt.iterations = int(a)
        elif v.name == "learning_rate" and not callable(opt._learning_rate):
            opt.learning_rate = float(a)


def load_keras(filepath, custom_objects=None, compile=True, safe_mode=True):
    from forgenet.saving.serialization_lib import deserialize_model

    who = "load_model"
    path = str(filepath)
    with fileio.open_regular(filepath, who, "Keras model file") as f:
        size = fileio_size(f)
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise ValueError(f"{who}: {path} is not a Keras .keras file (not a zip archive: {e})") from None
        with zf:
            names = zf.namelist()
            if WEIGHTS not in names and "model.weights.npz" in names:
                raise ValueError(f"{who}: {path} stores its weights as .npz; forgenet reads the h5 layout only")
            config = _json(_zip_member(zf, CONFIG, path, who, limits.MAX_CONFIG_BYTES), path, who, CONFIG)
            weights = _zip_member(zf, WEIGHTS, path, who, max(size * limits.ZIP_MAX_EXPANSION, 1 << 20))
    if not isinstance(config, dict):
        raise ValueError(f"{who}: {path}: {CONFIG} does not hold a model config")
    if not compile:
        config = {**config, "compile_config": None}
    store = H5Weights(io.BytesIO(weights), path, who, len(weights))
    try:
        budget = limits.WeightBudget(store.elements, who, path)
        try:
            with limits.budget_scope(budget):
                model = deserialize_model(config, custom_objects, safe_mode, who, path)
        except RecursionError:
            raise ValueError(f"{who}: {path}: the model config nests too deeply") from None
        except ValueError as e:
            msg = _strip(str(e), who)
            raise ValueError(f"{who}: {msg}" if path in msg else f"{who}: {path}: {msg}") from e.__cause__
        if not getattr(model, "built", False):
            raise ValueError(f"{who}: {path}: the config does not record an input shape, so {model.name!r} cannot "
                             "be built to receive its weights")
        restore(model, store, who, with_optimizer=compile)
    finally:
        store.close()
    return model


def _strip(msg, who):
    return msg[len(who) + 2:] if msg.startswith(who + ": ") else msg


def fileio_size(f) -> int:
    import os

    return os.fstat(f.fileno()).st_size


def load_weights_h5(model, filepath):
    who = "load_weights"
    path = str(filepath)
    if not model.built:
        raise ValueError(f"{who}: model {model.name!r} has not been built yet; call it on data or build(input_shape) "
                         f"before loading {path}")
    with fileio.open_regular(filepath, who, "Keras weights file") as f:
        size = fileio_size(f)
        data = f.read(size + 1)
    if len(data) != size:
        raise ValueError(f"{who}: {path} changed while it was read")
    store = H5Weights(io.BytesIO(data), path, who, size)
    try:
        restore(model, store, who)
    finally:
        store.close()

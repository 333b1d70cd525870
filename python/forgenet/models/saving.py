"""One-file model saving on safetensors: the weights as tensors, the architecture as JSON metadata.

A `.fgn` file (any suffix works) is a plain safetensors file whose metadata holds
  format="forgenet.model", model_config (class names + get_config, Keras-style), weight_names (the
  tensors in get_weights order), and optionally compile_config and the optimizer state,
so other tools can read the weights directly. Writes go to a temporary file in the same folder,
are fsync'ed, then renamed over the target: a failure half-way leaves any old file intact.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings

import numpy as np

from forgenet.layers.base import Layer

MODEL_FORMAT = "forgenet.model"
WEIGHTS_FORMAT = "forgenet.weights"
FORMAT_VERSION = "1"
_REGISTERED: dict[str, type] = {}


# ---- (de)serialising layers by class name -------------------------------------------------------
def register_serializable(package="Custom", name=None):
    """Class decorator: make a custom Layer/Model loadable by load_model without custom_objects."""

    def deco(cls):
        _REGISTERED[name or cls.__name__] = cls
        return cls

    return deco


def serialize_layer(layer: Layer) -> dict:
    return {"module": type(layer).__module__, "class_name": type(layer).__name__, "config": layer.get_config()}


def _find_class(class_name: str, custom_objects):
    import forgenet.layers as layers_mod
    from forgenet.models.model import Model
    from forgenet.models.sequential import Sequential

    for table in (custom_objects or {}, _REGISTERED, {"Sequential": Sequential, "Model": Model}):
        if class_name in table:
            return table[class_name]
    cls = getattr(layers_mod, class_name, None)
    return cls if isinstance(cls, type) and issubclass(cls, Layer) else None


def deserialize_layer(spec: dict, custom_objects=None, who: str = "load_model") -> Layer:
    from forgenet.models.sequential import Sequential

    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ValueError(f"{who}: a layer config must be a dict with 'class_name' and 'config', got {spec!r}")
    name = spec["class_name"]
    cls = _find_class(name, custom_objects)
    if cls is None:
        raise ValueError(f"{who}: unknown layer class {name!r} (from module {spec.get('module')!r}); pass it as "
                         f"custom_objects={{'{name}': {name}}} or decorate it with "
                         "@forgenet.models.register_serializable()")
    config = dict(spec.get("config") or {})
    try:
        if issubclass(cls, Sequential):
            return cls.from_config(config, custom_objects=custom_objects)
        return cls.from_config(config)
    except Exception as e:
        raise ValueError(f"{who}: could not rebuild layer {config.get('name', '?')!r} of class {name} from its "
                         f"config ({type(e).__name__}: {e}); a custom class needs get_config()/from_config() "
                         "that round-trip its constructor arguments") from e


def compile_config(model) -> dict | None:
    """What compile() was given, as JSON; None when part of it (a user function) has no name to save."""
    from forgenet import losses, metrics, optimizers

    loss = losses.serialize(model.loss) if model.loss is not None else None
    if model.loss is not None and loss is None:
        return None
    mets = []
    for m in model._metric_ids:
        if isinstance(m, str):
            mets.append(m)
        elif isinstance(m, metrics.Metric) and type(m).__name__ in metrics._CLASSES:
            mets.append({"class_name": type(m).__name__, "config": m.get_config()})
        else:
            return None
    return {"optimizer": optimizers.serialize(model.optimizer), "loss": loss, "metrics": mets}


def _compile_from_config(model, cfg):
    from forgenet import losses, metrics, optimizers

    mets = [m if isinstance(m, str) else metrics._CLASSES[m["class_name"]].from_config(m["config"])
            for m in cfg.get("metrics", [])]
    model.compile(optimizer=optimizers.get(cfg["optimizer"]),
                  loss=None if cfg.get("loss") is None else losses.get(cfg["loss"]), metrics=mets)


# ---- the file format ----------------------------------------------------------------------------
def _weight_names(model) -> list[str]:
    names, seen = [], {}
    for w in model.weights:
        base = getattr(w, "name", "variable")
        k = seen.get(base, 0)
        seen[base] = k + 1
        names.append(base if k == 0 else f"{base}#{k}")
    return names


def _write_safetensors(path, tensors, metadata):
    from safetensors.numpy import save_file

    save_file(tensors, path, metadata=metadata)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: str, tensors: dict, metadata: dict) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        _write_safetensors(tmp, tensors, metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a saved model is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _check_target(path, overwrite, who):
    if os.path.isdir(path):
        raise IsADirectoryError(f"{who}: {path} is a directory; give a file path such as model.fgn")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{who}: {path} exists and overwrite=False")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{who}: the folder {folder} does not exist")


def _weights_payload(model, who):
    if not model.built:
        raise ValueError(f"{who}: model {model.name!r} has not been built yet (its weights do not exist); call it "
                         "on data, fit it, or build(input_shape) first")
    names = _weight_names(model)
    tensors = {n: np.ascontiguousarray(w.numpy(), dtype=np.float32) for n, w in zip(names, model.weights)}
    meta = {"format_version": FORMAT_VERSION, "weight_names": json.dumps(names)}
    shape = getattr(model, "_build_input_shape", None)
    if shape is not None:
        meta["build_input_shape"] = json.dumps(list(shape))
    return names, tensors, meta


def save_model(model, filepath, overwrite=True, include_optimizer=True) -> None:
    """Write the architecture, weights (and compile settings, optimizer state) to one file."""
    from forgenet import __version__

    path = os.fspath(filepath)
    _check_target(path, overwrite, "save_model")
    names, tensors, meta = _weights_payload(model, "save_model")
    meta.update(format=MODEL_FORMAT, forgenet_version=__version__,
                model_config=json.dumps(serialize_layer(model)))
    if getattr(model, "compiled", False):
        cc = compile_config(model)
        if cc is None:
            warnings.warn(f"save_model: the compile() arguments of {model.name!r} include a function that cannot be "
                          "saved by name; the loaded model will need compile() again", stacklevel=3)
        else:
            meta["compile_config"] = json.dumps(cc)
            opt = model.optimizer
            if include_optimizer and opt is not None and opt.built:
                iterations, state = opt.get_state()
                meta["optimizer_iterations"] = str(iterations)
                meta["optimizer_state"] = json.dumps(len(state))
                for i, a in enumerate(state):
                    tensors[f"optimizer/{i}"] = np.ascontiguousarray(a)
    _atomic_write(path, tensors, meta)


def save_weights(model, filepath, overwrite=True) -> None:
    path = os.fspath(filepath)
    _check_target(path, overwrite, "save_weights")
    _, tensors, meta = _weights_payload(model, "save_weights")
    meta["format"] = WEIGHTS_FORMAT
    _atomic_write(path, tensors, meta)


def _read(path, who, kind):
    """(metadata, tensors) of a forgenet safetensors file, with FileNotFoundError / ValueError for bad files."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no such file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{who}: {path} is not a forgenet {kind} file (it is a directory)")
    from safetensors import safe_open

    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            tensors = {k: np.array(f.get_tensor(k)) for k in f.keys()}
    except Exception as e:  # SafetensorError, truncated data, unsupported dtypes, ...
        raise ValueError(f"{who}: {path} is not a forgenet {kind} file (not a readable safetensors file: "
                         f"{type(e).__name__}: {e})") from None
    fmt = meta.get("format")
    if fmt not in (MODEL_FORMAT, WEIGHTS_FORMAT) or "weight_names" not in meta:
        raise ValueError(f"{who}: {path} is not a forgenet {kind} file (a safetensors file without forgenet "
                         "metadata)")
    try:
        names = json.loads(meta["weight_names"])
        weights = [tensors[n] for n in names]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{who}: {path} is not a forgenet {kind} file (damaged weight list: {e})") from None
    return meta, tensors, names, weights


def _assign(model, names, arrays, path, who):
    mine = model.weights
    if len(arrays) != len(mine):
        raise ValueError(f"{who}: {path} holds {len(arrays)} weight arrays but model {model.name!r} has {len(mine)} "
                         f"(file: {[tuple(a.shape) for a in arrays]}, model: {[w.shape for w in mine]})")
    for w, n, a in zip(mine, names, arrays):
        if tuple(a.shape) != tuple(w.shape):
            raise ValueError(f"{who}: weight {w.name!r} of model {model.name!r} has shape {tuple(w.shape)} but "
                             f"{path} holds shape {tuple(a.shape)} for it ({n!r})")
    for w, a in zip(mine, arrays):
        xp = np if isinstance(w.data, np.ndarray) else __import__("cupy")
        w.assign(xp.array(a, dtype=np.float32))


def load_model(filepath, custom_objects=None, compile=True):
    """Rebuild a model saved with `model.save` / `save_model`: same architecture, weights, compile settings."""
    who = "load_model"
    path = os.fspath(filepath)
    meta, tensors, names, arrays = _read(path, who, "model")
    if meta.get("format") != MODEL_FORMAT or "model_config" not in meta:
        raise ValueError(f"{who}: {path} is not a forgenet model file (it holds only weights: build the model and "
                         "call model.load_weights)")
    try:
        spec = json.loads(meta["model_config"])
    except ValueError as e:
        raise ValueError(f"{who}: {path} is not a forgenet model file (damaged model config: {e})") from None
    model = deserialize_layer(spec, custom_objects, who)
    if not model.built:
        shape = meta.get("build_input_shape")
        if shape is None:
            raise ValueError(f"{who}: {path} does not record the model's input shape, so {model.name!r} cannot be "
                             "built")
        model.build(tuple(json.loads(shape)))
    _assign(model, names, arrays, path, who)
    if compile and "compile_config" in meta:
        _compile_from_config(model, json.loads(meta["compile_config"]))
        n_state = int(json.loads(meta.get("optimizer_state", "0")))
        if n_state:
            opt = model.optimizer
            opt.build(model.trainable_weights)
            try:
                opt.set_state(int(meta.get("optimizer_iterations", 0)),
                              [tensors[f"optimizer/{i}"] for i in range(n_state)])
            except (KeyError, ValueError) as e:
                warnings.warn(f"{who}: skipping the optimizer state saved in {path} ({e})", stacklevel=2)
                opt.build(model.trainable_weights)
                opt.iterations = 0
    return model


def load_weights(model, filepath) -> None:
    who = "load_weights"
    path = os.fspath(filepath)
    meta, _, names, arrays = _read(path, who, "weights")
    if not model.built:
        shape = meta.get("build_input_shape")
        if shape is None:
            raise ValueError(f"{who}: model {model.name!r} has not been built yet; call it on data or "
                             "build(input_shape) before loading weights")
        model.build(tuple(json.loads(shape)))
    _assign(model, names, arrays, path, who)

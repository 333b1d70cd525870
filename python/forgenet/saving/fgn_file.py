"""forgenet's own one-file format (`.fgn`, `.safetensors`, any other suffix): a plain safetensors file whose
metadata holds format="forgenet.model" (or "forgenet.weights"), model_config (serialize_keras_object of
the model), weight_names (the tensors in get_weights order), build_input_shape, and optionally
compile_config and the optimizer state (tensors "optimizer/<i>"), so other tools read the weights
directly.

Reading parses the header first and checks every declared tensor (dtype, shape, byte range) before
reading any; the architecture is rebuilt under a budget of the weight values the file holds; only
the tensors the model needs are read.
"""
from __future__ import annotations

import json
import warnings

import numpy as np

from forgenet.saving import fileio, limits, safetensors_io
from forgenet.saving.assign import assign, check_array_meta

MODEL_FORMAT = "forgenet.model"
WEIGHTS_FORMAT = "forgenet.weights"
FORMAT_VERSION = "1"


def weight_names(model) -> list[str]:
    names, seen = [], {}
    for w in model.weights:
        base = getattr(w, "name", "variable")
        k = seen.get(base, 0)
        seen[base] = k + 1
        names.append(base if k == 0 else f"{base}#{k}")
    return names


def _payload(model, who):
    if not model.built:
        raise ValueError(f"{who}: model {model.name!r} has not been built yet (its weights do not exist); call it "
                         "on data, fit it, or build(input_shape) first")
    names = weight_names(model)
    tensors = {n: np.ascontiguousarray(w.numpy(), dtype=np.float32) for n, w in zip(names, model.weights)}
    meta = {"format_version": FORMAT_VERSION, "weight_names": json.dumps(names)}
    shape = getattr(model, "_build_input_shape", None)
    if shape is not None:
        meta["build_input_shape"] = json.dumps(list(shape))
    return tensors, meta


def save_fgn(model, filepath, overwrite=True, include_optimizer=True):
    from forgenet import __version__
    from forgenet.saving.serialization_lib import compile_config, serialize_keras_object

    who = "save_model"
    tensors, meta = _payload(model, who)
    meta.update(format=MODEL_FORMAT, forgenet_version=__version__)
    config = serialize_keras_object(model)
    config.pop("compile_config", None)
    meta["model_config"] = json.dumps(config)
    if getattr(model, "compiled", False):
        cc = compile_config(model)
        if cc is None:
            warnings.warn(f"{who}: the compile() arguments of {model.name!r} include a function that cannot be saved "
                          "by name; the loaded model will need compile() again", stacklevel=3)
        else:
            meta["compile_config"] = json.dumps(cc)
            opt = model.optimizer
            if include_optimizer and opt is not None and opt.built:
                iterations, state = opt.get_state()
                meta["optimizer_iterations"] = str(iterations)
                meta["optimizer_state"] = json.dumps(len(state))
                for i, a in enumerate(state):
                    tensors[f"optimizer/{i}"] = np.ascontiguousarray(a)
    fileio.atomic_write(filepath, lambda f: safetensors_io.write(f, tensors, meta), who, overwrite)


def save_fgn_weights(model, filepath, overwrite=True):
    tensors, meta = _payload(model, "save_weights")
    meta["format"] = WEIGHTS_FORMAT
    fileio.atomic_write(filepath, lambda f: safetensors_io.write(f, tensors, meta), "save_weights", overwrite)


class _File:
    """An open forgenet file with its validated header."""

    def __init__(self, filepath, who, kind):
        self.path, self.who = str(filepath), who
        self.f = fileio.open_regular(filepath, who, f"forgenet {kind} file")
        try:
            self.header = safetensors_io.read_header(self.f, self.path, who, f"forgenet {kind} file")
            meta = self.header.metadata
            if meta.get("format") not in (MODEL_FORMAT, WEIGHTS_FORMAT) or "weight_names" not in meta:
                raise ValueError(f"{who}: {self.path} is not a forgenet {kind} file (a safetensors file without "
                                 "forgenet metadata)")
            try:
                names = json.loads(meta["weight_names"])
            except (ValueError, RecursionError):
                names = None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"{who}: {self.path} is not a forgenet {kind} file (damaged weight list)")
            missing = [n for n in names if n not in self.header.tensors]
            if missing:
                raise ValueError(f"{who}: {self.path} lists weights {missing[:5]} that the file does not hold "
                                 "(declared but absent)")
            self.names = names
        except BaseException:
            self.f.close()
            raise

    @property
    def meta(self):
        return self.header.metadata

    def json(self, key):
        try:
            return json.loads(self.meta[key])
        except (ValueError, RecursionError):
            raise ValueError(f"{self.who}: {self.path}: damaged {key} in the file's metadata") from None

    def weight_elements(self) -> int:
        return sum(self.header.numel(n) for n in self.names)

    def build_if_needed(self, model):
        if model.built:
            return
        if "build_input_shape" not in self.meta:
            raise ValueError(f"{self.who}: {self.path} does not record the model's input shape, so {model.name!r} "
                             "cannot be built; build it (or call it on data) first")
        shape = limits.checked_shape(self.json("build_input_shape"), f"{self.who}: {self.path}")
        with limits.budget_scope(limits.WeightBudget(self.weight_elements(), self.who, self.path)):
            model.build(shape)

    def assign_weights(self, model):
        mine = model.weights
        if len(self.names) != len(mine):
            raise ValueError(f"{self.who}: {self.path} holds {len(self.names)} weight arrays but model {model.name!r} "
                             f"has {len(mine)} (file: {[self.header.tensors[n][1] for n in self.names]}, model: "
                             f"{[w.shape for w in mine]})")
        for w, n in zip(mine, self.names):
            dtype, shape, _, _ = self.header.tensors[n]
            check_array_meta(self.who, self.path, w.name, safetensors_io._DTYPES[dtype], shape, w.shape,
                             model.name, repr(n))
        arrays = [safetensors_io.read_tensor(self.f, self.header, n) for n in self.names]
        for w, a in zip(mine, arrays):
            assign(w, a)

    def close(self):
        self.f.close()


def load_fgn(filepath, custom_objects=None, compile=True, safe_mode=True):
    from forgenet.saving.serialization_lib import compile_from_config, deserialize_model

    who = "load_model"
    src = _File(filepath, who, "model")
    try:
        if src.meta.get("format") != MODEL_FORMAT or "model_config" not in src.meta:
            raise ValueError(f"{who}: {src.path} is not a forgenet model file (it holds only weights: build the model "
                             "and call model.load_weights)")
        spec = src.json("model_config")
        if not isinstance(spec, dict):
            raise ValueError(f"{who}: {src.path}: the model config is not a dict")
        spec = {k: v for k, v in spec.items() if k not in ("compile_config",)}
        try:
            with limits.budget_scope(limits.WeightBudget(src.weight_elements(), who, src.path)):
                model = deserialize_model(spec, custom_objects, safe_mode, who, src.path)
                src.build_if_needed(model)
        except RecursionError:
            raise ValueError(f"{who}: {src.path}: the model config nests too deeply") from None
        except ValueError as e:
            msg = str(e)
            msg = msg[len(who) + 2:] if msg.startswith(who + ": ") else msg
            raise ValueError(f"{who}: {msg}" if src.path in msg else f"{who}: {src.path}: {msg}") from e.__cause__
        src.assign_weights(model)
        if compile and "compile_config" in src.meta:
            try:
                compile_from_config(model, _legacy_compile(src.json("compile_config")), custom_objects, who)
            except (ValueError, TypeError) as e:
                msg = str(e)
                msg = msg[len(who) + 2:] if msg.startswith(who + ": ") else msg
                raise ValueError(f"{who}: {msg}" if src.path in msg else f"{who}: {src.path}: {msg}") from None
            _restore_optimizer(model, src)
    finally:
        src.close()
    return model


def _legacy_compile(cfg):
    """Files of forgenet 0.1 wrote optimizer/loss/metrics as {"class_name", "config"} without a module."""
    return cfg if isinstance(cfg, dict) else {}


def _restore_optimizer(model, src):
    n_state = src.meta.get("optimizer_state")
    if not n_state:
        return
    opt = model.optimizer
    try:
        n = int(json.loads(n_state))
        names = [f"optimizer/{i}" for i in range(n)]
        missing = [k for k in names if k not in src.header.tensors]
        if missing:
            raise ValueError(f"state tensors {missing[:3]} are declared but absent")
        for k in names:
            if src.header.tensors[k][0] not in ("F32", "F16", "F64"):
                raise ValueError(f"state tensor {k} has dtype {src.header.tensors[k][0]}")
        opt.build(model.trainable_weights)
        want = opt.variables
        if len(want) != n or any(tuple(a.shape) != src.header.tensors[k][1] for a, k in zip(want, names)):
            raise ValueError(f"the file holds {n} state arrays that do not fit the optimizer's {len(want)}")
        opt.set_state(int(src.meta.get("optimizer_iterations", 0)),
                      [safetensors_io.read_tensor(src.f, src.header, k) for k in names])
    except (KeyError, ValueError, TypeError) as e:
        warnings.warn(f"load_model: {src.path}: the optimizer state is not restored ({e}); the optimizer starts "
                      "fresh", stacklevel=3)
        opt.build(model.trainable_weights)
        opt.iterations = 0


def load_fgn_weights(model, filepath):
    src = _File(filepath, "load_weights", "weights")
    try:
        src.build_if_needed(model)
        src.assign_weights(model)
    finally:
        src.close()


def is_safetensors(head: bytes) -> bool:
    return len(head) >= 9 and head[8:9] == b"{"


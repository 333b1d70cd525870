"""Where each weight lives in Keras 3's weights file (model.weights.h5), computed for a forgenet model
the way Keras's saving_lib walks its objects (`_save_state` / `_walk_saveable`):

- an object with variables gets a group "<path>/vars" (attribute "name" = the object's name) holding
  datasets "0", "1", ... in the object's own variable order (trainable, then non-trainable);
- Sequential and functional models walk `layers` first; every model/layer then walks its attributes
  in sorted order, public before private (minus those a bare Layer has), recursing into layers and
  into lists/tuples/dicts of layers, where each layer is named after its class in snake case with
  _1, _2, ... for repeats;
- an object already visited is skipped, so a layer lives at the first path that reaches it.

An RNN's weights live in its `cell` sublayer, as in Keras, so the walk finds "<rnn>/cell" itself;
MultiHeadAttention keeps its weights itself, where Keras has internal sublayers, so they map here
explicitly to "<mha>/query_dense", "key_dense", "value_dense", "output_dense". The optimizer is "optimizer/vars": iterations, learning_rate, then the slots, those
Keras creates together interleaved per variable (Adam: m0, v0, m1, v1, ...).
"""
from __future__ import annotations

import functools

import numpy as np

from forgenet.saving.serialization_lib import snake

# Keras creates these slots with one add_optimizer_variables call (interleaved per variable)
_SLOT_GROUPS = {"Adam": [("momentum", "velocity"), ("velocity_hat",)],
                "AdamW": [("momentum", "velocity"), ("velocity_hat",)]}
_MHA_PARTS = {"query": ("query_dense", "query"), "key": ("key_dense", "key"), "value": ("value_dense", "value"),
              "attention_output": ("output_dense", "attention_output")}


class Entry:
    __slots__ = ("path", "name", "variables")

    def __init__(self, path, name, variables):
        self.path, self.name, self.variables = path, name, list(variables)


@functools.lru_cache(maxsize=None)
def _skipset(kind: str) -> frozenset:
    from forgenet.layers.base import Layer

    s = set(dir(Layer(name="__skipset_probe__")))
    s.add("_self_unconditional_dependency_names")
    if kind == "Functional":
        s |= {"operations", "_operations"}
    elif kind == "Sequential":
        s |= {"_functional"}
    return frozenset(s)


def _kind(obj) -> str:
    from forgenet.models.sequential import Sequential

    if isinstance(obj, Sequential):
        return "Sequential"
    if any(c.__name__ == "Functional" for c in type(obj).__mro__) or getattr(obj, "_is_functional", False):
        return "Functional"
    return "Layer"


def _is_input_layer(obj) -> bool:
    return type(obj).__name__ == "InputLayer"


def _own_variables(layer):
    # Keras's Layer.save_own_variables: the tracked lists as they stand, trainable list first
    return list(getattr(layer, "_trainable_variables", [])) + list(getattr(layer, "_non_trainable_variables", []))


def _join(path, name):
    return f"{path}/{name}" if path else name


def entries(model, include_optimizer=True) -> list:
    """[Entry(path, name, variables)] for every saveable under model, in Keras's walk order."""
    from forgenet.layers.base import Layer
    from forgenet.optimizers.optimizer import Optimizer

    out, visited = [], set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        if isinstance(obj, Optimizer):
            if include_optimizer:
                out.append(Entry(path, obj.name, optimizer_variables(obj)))
            return
        cls = type(obj).__name__
        name = getattr(obj, "name", None)
        if cls == "MultiHeadAttention" and not isinstance(getattr(obj, "query_dense", None), Layer):
            out.append(Entry(path, name, []))
            parts = {}
            for v in _own_variables(obj):
                prefix = v.name.split("/")[-2] if v.name.count("/") >= 2 else ""
                parts.setdefault(prefix, []).append(v)
            for prefix, (attr, sub_name) in _MHA_PARTS.items():
                out.append(Entry(_join(path, attr), sub_name, parts.pop(prefix, [])))
            if parts:
                raise ValueError(f"{name}: weights {sorted(parts)} have no place in Keras's MultiHeadAttention")
            out.append(Entry(_join(path, "_dropout_layer"), "dropout", []))
            out.append(Entry(_join(path, "_softmax"), "softmax", []))
            return
        out.append(Entry(path, name, _own_variables(obj) if isinstance(obj, Layer) else []))
        for attr, child in _walk(obj):
            if isinstance(child, (Layer, Optimizer)):
                visit(child, _join(path, attr))
            elif isinstance(child, (list, tuple, dict)):
                container(child, _join(path, attr), set())

    def container(items, path, seen):
        if id(items) in seen:
            return
        seen.add(id(items))
        used = {}
        for item in (items.values() if isinstance(items, dict) else items):
            if isinstance(item, (Layer, Optimizer)):
                visit(item, _join(path, _unique(snake(type(item).__name__), used)))
            elif isinstance(item, (list, tuple, dict)):
                container(item, _join(path, _unique("container", used)), seen)

    def _walk(obj):
        from forgenet.layers.base import Layer as _L

        if not isinstance(obj, _L):
            return
        kind = _kind(obj)
        if kind in ("Sequential", "Functional"):
            yield "layers", [l for l in obj.layers if not _is_input_layer(l)]
        skip = _skipset(kind)
        for attr in sorted(dir(obj), key=lambda a: f"~{a}" if a.startswith("_") else a):
            if attr.startswith("__") or attr in skip:
                continue
            try:
                child = getattr(obj, attr)
            except Exception:  # a property that cannot answer (e.g. an unbuilt shape)
                continue
            if attr == "layers" and kind in ("Sequential", "Functional"):
                child = [l for l in child if not _is_input_layer(l)]
            yield attr, child

    visit(model, "")
    return out


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# ---- optimizer ---------------------------------------------------------------------------------
class _Scalar:
    """An optimizer scalar (iterations, learning_rate) as a variable-like entry."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def numpy(self):
        return self.value


class _Slot:
    def __init__(self, arrays, i, name):
        self.arrays, self.i, self.name = arrays, i, name

    def numpy(self):
        a = self.arrays[self.i]
        return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)

    @property
    def shape(self):
        return tuple(self.arrays[self.i].shape)


def optimizer_variables(opt) -> list:
    """Keras's optimizer.variables order: iterations, learning_rate, then the slot arrays."""
    lr = opt._learning_rate
    lr = float(lr(opt.iterations)) if callable(lr) else float(lr)
    out = [_Scalar("iterations", np.array(opt.iterations, np.int64)),
           _Scalar("learning_rate", np.array(lr, np.float32))]
    if not opt.built:
        return out
    slots = opt._slots
    groups = _SLOT_GROUPS.get(type(opt).__name__) or [(n,) for n in slots]
    named = {n for g in groups for n in g}
    groups = list(groups) + [(n,) for n in slots if n not in named]
    nvars = len(opt._variables)
    for group in groups:
        present = [n for n in group if n in slots and slots[n] is not None]
        for i in range(nvars):
            for n in present:
                out.append(_Slot(slots[n], i, n))
    return out

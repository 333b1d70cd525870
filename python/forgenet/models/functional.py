"""`Functional`: a Model defined as a graph of layer calls on symbolic tensors (Keras 3).

`Model(inputs, outputs)` (and `Model(inputs=..., outputs=...)`) returns one. The graph is the
Nodes recorded when layers were called on `Input` tensors; calling the model replays them in
topological order on real Tensors, passing `training` on and letting masks travel with the tensors.
Inputs and outputs may be single tensors, lists or dicts; layers may be shared (called at several
nodes) and models may be used as layers.
"""
from __future__ import annotations

import collections
import copy
import warnings

import numpy as np

from forgenet.autograd.tensor import Tensor, get_keras_mask, set_keras_mask
from forgenet.layers.base import Layer
from forgenet.layers.input_layer import InputLayer
from forgenet.layers.node import KerasHistory, KerasTensor, flatten, map_structure, pack_like
from forgenet.models.model import Model


def make_node_key(layer, node_index) -> str:
    return f"{id(layer)}_ib-{node_index}"


class Functional(Model):
    _mask_aware = True

    def __init__(self, inputs, outputs, name=None, trainable=None, **kwargs):
        who = f"Model({name or 'functional'})"
        if isinstance(inputs, dict):
            for k, v in inputs.items():
                if isinstance(v, KerasTensor) and k != v.name:
                    warnings.warn(f"When providing `inputs` as a dict, all keys in the dict must match the names of "
                                  f"the corresponding tensors. Received key '{k}' mapping to value {v} which has "
                                  f"name '{v.name}'. Change the tensor name to '{k}' (via `Input(..., name='{k}')`)",
                                  stacklevel=3)
        for what, struct in (("inputs", inputs), ("outputs", outputs)):
            for x in flatten(struct):
                if not isinstance(x, KerasTensor):
                    raise ValueError(f"{who}: all `{what}` values must be KerasTensors (from forgenet.Input or a "
                                     f"layer called on one), got {type(x).__name__}: {x!r}")
            if not flatten(struct):
                raise ValueError(f"{who}: `{what}` cannot be empty")
        Model.__init__(self, name=name or _auto_name(), **kwargs)
        set_ = object.__setattr__  # graph bookkeeping is not tracked state
        set_(self, "_inputs_struct", map_structure(lambda x: x, inputs))
        set_(self, "_outputs_struct", map_structure(lambda x: x, outputs))
        set_(self, "_inputs", flatten(inputs))
        set_(self, "_outputs", flatten(outputs))
        nodes, by_depth, operations = map_graph(self._inputs, self._outputs)
        set_(self, "_nodes", nodes)
        set_(self, "_nodes_by_depth", by_depth)
        set_(self, "_operations", operations)
        self._layers[:] = operations
        if trainable is not None:
            self.trainable = trainable
        self.built = True
        self._build_input_shape = self.input_shape
        self.output_names = [x._keras_history.operation.name for x in self._outputs]

    # ---- graph description -----------------------------------------------------------------------
    @property
    def layers(self) -> list:
        from forgenet.layers.op_layer import TensorOp

        return [op for op in self._operations if not isinstance(op, TensorOp)]  # Keras: ops are not layers

    @property
    def operations(self) -> list:
        return list(self._operations)

    @property
    def inputs(self) -> list:
        return list(self._inputs)

    @property
    def outputs(self) -> list:
        return list(self._outputs)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [x.shape for x in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [x.shape for x in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_dtype(self):
        # arrays given to the model are cast per input in call(); float32 everywhere lets Layer cast them
        return "float32" if all(x.dtype == "float32" for x in self._inputs) else None

    def build(self, input_shape=None):
        self.built = True

    # ---- running ---------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        flat = self._standardize_inputs(inputs)
        if mask is not None:
            for x, m in zip(flat, flatten(mask) if isinstance(mask, (list, tuple, dict)) else [mask]):
                if m is not None:
                    set_keras_mask(x, m)
        values = {id(kt): x for kt, x in zip(self._inputs, flat)}
        for depth in sorted(self._nodes_by_depth, reverse=True):
            for node in self._nodes_by_depth[depth]:
                if node.is_input or any(id(x) not in values for x in node.input_tensors):
                    continue
                args, kwargs = node.fill_in(values)
                if training is not None:
                    kwargs["training"] = training
                out = node.operation(*args, **kwargs)
                for kt, y in zip(node.outputs, flatten(out)):
                    values[id(kt)] = y
        outs = []
        for i, kt in enumerate(self._outputs):
            if id(kt) not in values:
                raise ValueError(f"{self.name}: output {kt.name} is not connected to the model's inputs")
            outs.append(values[id(kt)])
        result = pack_like(self._outputs_struct, outs)
        return result[0] if isinstance(result, list) and len(result) == 1 else result

    def _standardize_inputs(self, inputs) -> list:
        """The inputs as a flat list in the order of self._inputs, each a Tensor of its Input's dtype and rank."""
        struct = self._inputs_struct
        names = [x.name for x in self._inputs]
        if isinstance(inputs, dict):
            if isinstance(struct, dict):
                missing = [k for k in struct if k not in inputs]
                if missing:
                    raise ValueError(f"{self.name}: missing inputs {missing}; the model expects a dict with keys "
                                     f"{sorted(struct)}, got keys {sorted(inputs)}")
                flat = flatten({k: inputs[k] for k in struct})
            else:
                missing = [n for n in names if n not in inputs]
                if missing:
                    raise ValueError(f"{self.name}: the model's inputs are named {names}, but the dict given has "
                                     f"keys {sorted(inputs)} (missing {missing})")
                flat = [inputs[n] for n in names]
        elif isinstance(inputs, (list, tuple)):
            flat = flatten(list(inputs))
        else:
            flat = [inputs]
        if len(flat) != len(self._inputs):
            raise ValueError(f"{self.name}: expected {len(self._inputs)} input(s) {names}, got {len(flat)}")
        return [_conform(self.name, x, kt) for x, kt in zip(flat, self._inputs)]

    # ---- config (Keras's Functional.get_config / functional_from_config) --------------------------
    def get_config(self):
        from forgenet.models.saving import serialize_layer

        config = {"name": self.name, "trainable": self.trainable}
        reindex = {}
        for layer in self._operations:
            kept = 1 if isinstance(layer, Functional) else 0  # models start with their own built-in node
            for i, _ in enumerate(layer._inbound_nodes):
                key = make_node_key(layer, i)
                if key in self._nodes:
                    reindex[key] = kept
                    kept += 1
        layer_configs = []
        for layer in self._operations:
            inbound = []
            for i, node in enumerate(layer._inbound_nodes):
                if make_node_key(layer, i) in self._nodes and not node.is_input:
                    inbound.append(_serialize_node(node, self._nodes))
            cfg = serialize_layer(layer)
            cfg["name"] = layer.name
            cfg["inbound_nodes"] = inbound
            layer_configs.append(cfg)
        config["layers"] = layer_configs

        def tensor_config(kt):
            layer, node_index, tensor_index = kt._keras_history
            return [layer.name, reindex[make_node_key(layer, node_index)], tensor_index]

        config["input_layers"] = map_structure(tensor_config, self._inputs_struct)
        config["output_layers"] = map_structure(tensor_config, self._outputs_struct)
        return copy.deepcopy(config)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return functional_from_config(cls, config, custom_objects)


def _auto_name():
    from forgenet.layers.base import _unique_name

    return _unique_name("Functional")


def _conform(who, x, kt: KerasTensor):
    """x as a Tensor of kt's dtype, rank-adjusted as Keras does (a trailing axis of 1 added or dropped)."""
    from forgenet import functional as F

    mask = get_keras_mask(x)
    if x is None:
        raise ValueError(f"{who}: the input '{kt.name}' is not optional, but None was passed")
    t = x if isinstance(x, Tensor) else Tensor(x if hasattr(x, "dtype") else np.asarray(x))
    want = np.dtype(kt.dtype)
    if t.dtype != want:
        if want.kind == "f" and t.dtype.kind == "f" and t.requires_grad:
            raise TypeError(f"{who}: input '{kt.name}' expects {kt.dtype}, got a {t.dtype} Tensor that needs a "
                            "gradient; cast it first")
        t = Tensor(t.data.astype(want))
    ref = kt.shape
    if t.ndim == len(ref) + 1 and t.shape[-1] == 1:
        t = F.reshape(t, t.shape[:-1])
    elif t.ndim == len(ref) - 1 and ref[-1] == 1:
        t = F.reshape(t, t.shape + (1,))
    if t.ndim != len(ref) or any(r is not None and d != r for d, r in zip(t.shape[1:], ref[1:])):
        raise ValueError(f"{who}: input '{kt.name}' expects shape {ref}, got an input of shape {tuple(t.shape)}")
    if mask is not None and t._keras_mask is None:
        t._keras_mask = mask
    return t


# ---- the graph ---------------------------------------------------------------------------------------
def map_graph(inputs, outputs):
    """(node keys, nodes by depth, layers in Keras's order) of the graph from inputs to outputs
    (Keras's ops.function.map_graph: deepest first, ties in the order the traversal met them)."""
    ordered, layer_index = _build_map(inputs, outputs)
    in_graph = set(map(id, ordered))
    keys = {make_node_key(n.operation, n.operation._inbound_nodes.index(n)) for n in ordered}
    node_depth, layer_depth = {}, {}
    for node in reversed(ordered):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.operation), 0))
        layer_depth[id(node.operation)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    nodes = {id(n): n for n in ordered}
    layers = {id(n.operation): n.operation for n in ordered}
    for x in inputs:
        layer, index, _ = x._keras_history
        node = layer._inbound_nodes[index]
        if node.is_input and id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            layer_index[id(layer)] = -1
            node_depth[id(node)] = 0
            nodes[id(node)] = node
            layers[id(layer)] = layer
            keys.add(make_node_key(layer, index))
    by_depth = collections.defaultdict(list)
    for nid, depth in node_depth.items():
        by_depth[depth].append(nodes[nid])
    layers_by_depth = collections.defaultdict(list)
    for lid, depth in layer_depth.items():
        layers_by_depth[depth].append(layers[lid])
    operations = []
    for depth in sorted(layers_by_depth, reverse=True):
        operations += sorted(layers_by_depth[depth], key=lambda l: layer_index[id(l)])
    computable = set(map(id, inputs))
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.is_input:  # an Input that is not one of the model's inputs computes nothing
                continue
            for x in node.input_tensors:
                if id(x) not in computable:
                    raise ValueError(f"Graph disconnected: cannot find parent for tensor {x} at layer "
                                     f"'{node.operation.name}': it is not connected to the model's inputs")
            computable.update(map(id, node.outputs))
    names = [l.name for l in operations]
    for n in names:
        if names.count(n) != 1:
            raise ValueError(f'The name "{n}" is used {names.count(n)} times in the model. All layer names '
                             "should be unique.")
    return keys, dict(by_depth), operations


def _build_map(inputs, outputs):
    finished, in_progress = set(), set()
    ordered, layer_index = [], {}
    input_ids = set(map(id, inputs))

    def visit(tensor):
        if tensor._keras_history is None:
            raise ValueError(f"{tensor} was not made by forgenet.Input or a layer, so it cannot be part of a model")
        layer, index, _ = tensor._keras_history
        node = layer._inbound_nodes[index]
        if id(node) in finished:
            return
        if not node.is_input and id(tensor) in input_ids:  # an intermediate tensor given as an input
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise ValueError(f"Tensor {tensor} from layer '{layer.name}' is part of a cycle.")
        layer_index.setdefault(id(layer), len(layer_index))
        in_progress.add(id(node))
        if not node.is_input:
            for x in node.input_tensors:
                visit(x)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for out in outputs:
        visit(out)
    return ordered, layer_index


# ---- config helpers -----------------------------------------------------------------------------------
def _serialize_node(node, own_nodes):
    def ser(x):
        if isinstance(x, KerasTensor):
            layer, index, t = x._keras_history
            # Keras counts only the nodes of this model before it (no +1 for models here, unlike
            # input_layers/output_layers)
            skipped = sum(make_node_key(layer, i) not in own_nodes for i in range(index))
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(x.shape), "dtype": x.dtype,
                               "keras_history": [layer.name, index - skipped, t]}}
        if isinstance(x, slice):
            return {"class_name": "__slice__", "config": {"start": x.start, "stop": x.stop, "step": x.step}}
        if isinstance(x, tuple):
            return [ser(v) for v in x]
        if isinstance(x, (np.generic,)):
            return x.item()
        return x

    return {"args": map_structure(ser, list(node.call_args)), "kwargs": map_structure(ser, dict(node.call_kwargs))}


def _deserialize_node(data, created):
    """(args, kwargs) to call a layer with, from an "inbound_nodes" entry (Keras 3 or the legacy lists)."""
    if not data:
        return [], {}
    if isinstance(data, list):  # legacy: [[layer_name, node_index, tensor_index, kwargs?], ...]
        tensors, kwargs = [], {}
        for item in data:
            name, node_index, tensor_index = item[:3]
            kwargs = item[3] if len(item) > 3 else {}
            tensors.append(_lookup(created, name, node_index, tensor_index))
        return [tensors[0] if len(tensors) == 1 else tensors], dict(kwargs)

    def revive(x):
        if isinstance(x, dict):
            if x.get("class_name") == "__keras_tensor__":
                name, node_index, tensor_index = x["config"]["keras_history"]
                return _lookup(created, name, node_index, tensor_index)
            if x.get("class_name") == "__slice__":
                c = x["config"]
                return slice(c.get("start"), c.get("stop"), c.get("step"))
            return {k: revive(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):  # lists from JSON, tuples from a live Keras get_config()
            return [revive(v) for v in x]
        return x

    return revive(data.get("args", [])), revive(data.get("kwargs", {}))


def _lookup(created, name, node_index, tensor_index, model_offset=False):
    if name not in created:
        raise ValueError(f"Invalid functional model config: unknown layer {name!r}")
    layer = created[name]
    if model_offset and isinstance(layer, Functional):
        node_index -= 1  # Keras numbers a nested model's nodes from 1 in input_layers / output_layers
    if len(layer._inbound_nodes) <= node_index:
        raise IndexError(name)  # not created yet: process later
    return layer._inbound_nodes[node_index].output_tensors[tensor_index]


def deserialize_any(spec, custom_objects=None):
    """A layer (models included) from its serialized form."""
    from forgenet.layers.op_layer import KERAS_OPS, from_keras_op

    name = spec.get("class_name") if isinstance(spec, dict) else None
    if name in KERAS_OPS and str(spec.get("module", "")).startswith(("keras.src.ops", "keras.ops")):
        return from_keras_op(spec)
    if name == "TensorOp":
        from forgenet.layers.op_layer import TensorOp

        return TensorOp(**spec["config"])
    if name in ("Functional", "Model"):
        return Functional.from_config(spec["config"], custom_objects)
    if name == "Sequential":
        from forgenet.models.sequential import Sequential

        return Sequential.from_config(spec["config"], custom_objects)
    from forgenet.models.saving import deserialize_layer

    return deserialize_layer(spec, custom_objects)


def functional_from_config(cls, config, custom_objects=None):
    config = dict(config)
    for key in ("layers", "input_layers", "output_layers"):
        if key not in config:
            raise ValueError(f"{cls.__name__}.from_config: the config has no {key!r} (is it a functional model's?)")
    created, pending, order = {}, {}, []
    for layer_data in config["layers"]:
        layer = deserialize_any(layer_data, custom_objects)
        lname = layer_data.get("name", layer.name)
        created[lname] = layer
        order.append(lname)
        if layer_data.get("inbound_nodes"):
            pending[lname] = list(layer_data["inbound_nodes"])
    while pending:
        progressed = False
        for lname in order:
            queue = pending.get(lname)
            if not queue:
                continue
            done = 0
            for node_data in queue:
                try:
                    args, kwargs = _deserialize_node(node_data, created)
                except IndexError:
                    break
                created[lname](*args, **kwargs)
                done += 1
            if done:
                progressed = True
                pending[lname] = queue[done:]
                if not pending[lname]:
                    del pending[lname]
        if not progressed:
            raise ValueError("Invalid functional model config: the graph has loops or disconnected nodes; "
                             f"unresolved: {sorted(pending)}")

    def tensors(spec):
        if isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str):
            return _lookup(created, *spec, model_offset=True)
        if isinstance(spec, dict):
            return {k: tensors(v) for k, v in spec.items()}
        return [tensors(v) for v in spec]

    inputs, outputs = tensors(config["input_layers"]), tensors(config["output_layers"])
    if cls is Model:
        cls = Functional
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"), trainable=config.get("trainable"))


def revivable_as_functional(cls) -> bool:
    """Keras: a class whose constructor takes (inputs, outputs, ...) or (*args, **kwargs) is rebuilt from a
    functional config."""
    import inspect

    if cls is Model or issubclass(cls, Functional):
        return True
    spec = inspect.getfullargspec(cls.__init__)
    return spec.args[1:3] == ["inputs", "outputs"] or (spec.varargs is not None and spec.varkw is not None)


def inject_functional(model) -> None:
    """Keras's functional subclass pattern (`super().__init__(inputs, outputs)` in a Model subclass):
    give the instance a class that is both its own and Functional."""
    cls = type(model)
    if not isinstance(model, Functional):
        model.__class__ = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__})


__all__ = ["Functional", "KerasHistory", "functional_from_config", "map_graph"]

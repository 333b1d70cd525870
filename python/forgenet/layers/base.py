"""The Layer base class: `build` creates weights from the input shape, `call` computes (Keras 3).

A layer's `call` is written with differentiable functions (`forgenet.functional`, Tensor operators,
other layers), so gradients come for free: a user subclass that composes layers with residual
connections trains with `fit` without a backward pass of its own.

Calling a layer on plain arrays runs it eagerly without recording a graph and returns arrays;
calling it on Tensors (as models do in training) returns Tensors; calling it on symbolic tensors
(`forgenet.Input`) builds it and records a Node of a functional graph.

As in Keras, layers and Variables held in attributes - alone or in lists, tuples and dicts, nested,
assigned at any time or appended later - are tracked (lists and dicts are wrapped in tracking
containers), and masks travel with Tensors (`Tensor._keras_mask`): `__call__` passes a layer the
mask of its input as `mask=` (or `query_mask=`... for several tensor arguments) and attaches the
mask `compute_mask` gives to the output.
"""
from __future__ import annotations

import contextvars
import inspect
import re
import threading
import warnings
from collections import defaultdict

import numpy as np

from forgenet import initializers
from forgenet.autograd.tensor import Tensor, Variable, get_keras_mask, grad_enabled, no_grad, set_keras_mask
from forgenet.layers.node import KerasTensor, Node, any_symbolic, flatten, map_structure

_names = defaultdict(int)
_call_ctx = threading.local()

# The array module new weights go to: set by a Model on the GPU while it runs, so that layers it builds
# lazily (on their first call) create their weights there rather than on the host.
weight_device: contextvars.ContextVar = contextvars.ContextVar("weight_device", default=None)
# Set while a model is rebuilt from a file (forgenet.saving.limits.WeightBudget): add_weight charges it
# before allocating, so a config that declares more weights than the file holds fails early.
weight_budget: contextvars.ContextVar = contextvars.ContextVar("weight_budget", default=None)

# Internal stores, never wrapped or scanned by the tracker.
_NO_TRACK = frozenset({"_layers", "_trainable_variables", "_non_trainable_variables", "_assigned_ids",
                       "_inbound_nodes", "_outbound_nodes", "_trainable"})

# values that can hold nothing to track (the common attribute writes skip the tracker)
_PLAIN = frozenset({type(None), bool, int, float, str, np.ndarray})

# Symbolic calls run the layer on small zero probes to infer output shapes: the batch axis becomes
# _PROBE_BATCH and each unknown (None) axis _PROBE_SIZES[0], then [1] to see which output axes follow.
_PROBE_BATCH = 2
_PROBE_SIZES = (8, 13)


def _unique_name(cls_name: str) -> str:
    # Keras's to_snake_case: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, LayerNormalization -> layer_normalization
    base = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", cls_name)
    base = re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()
    n = _names[base]
    _names[base] += 1
    return base if n == 0 else f"{base}_{n}"


def _shape_of(x):
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_shape_of(t) for t in x]
    return tuple(x.shape) if hasattr(x, "shape") else None


class Layer:
    # Array inputs are cast to this dtype at the layer boundary (Keras autocasts); None keeps them
    # (Embedding takes integer ids).
    input_dtype = "float32"
    # models run their layers, which see the masks: no "this layer destroys the mask" warning for them
    _mask_aware = False

    def __init__(self, *, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if isinstance(dtype, dict):  # Keras's DTypePolicy config, as get_config() writes it
            dtype = (dtype.get("config") or {}).get("name")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"{type(self).__name__}: only dtype='float32' is supported, got {dtype!r}")
        self._init_tracking()
        object.__setattr__(self, "_trainable", bool(trainable))
        self.name = name or _unique_name(type(self).__name__)
        self.built = False
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._output_shape = None

    # ---- tracking (Keras's Tracker) ------------------------------------------------------------
    def _init_tracking(self):
        if "_layers" in self.__dict__:
            return
        for key in ("_layers", "_trainable_variables", "_non_trainable_variables", "_inbound_nodes",
                    "_outbound_nodes"):
            object.__setattr__(self, key, [])
        object.__setattr__(self, "_assigned_ids", set())  # Variables tracked from attributes, not add_weight
        object.__setattr__(self, "_trainable", True)

    def __setattr__(self, key, value):
        if key not in _NO_TRACK and type(value) not in _PLAIN:
            self._init_tracking()  # a subclass may assign before calling super().__init__()
            value = self._track(value)
        object.__setattr__(self, key, value)

    def __delattr__(self, key):
        value = self.__dict__.get(key)
        object.__delattr__(self, key)
        if value is not None:
            self._untrack(value)

    def _track(self, value):
        if isinstance(value, Layer):
            if value is not self and all(value is not l for l in self._layers):
                self._layers.append(value)
            return value
        if isinstance(value, Variable):
            if not self._owns(value):
                self._assigned_ids.add(id(value))
                self._add_variable(value)
            return value
        if isinstance(value, (TrackedList, TrackedDict)) and value._owner is self:
            return value
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
            return type(value)(*(self._track(v) for v in value))
        if isinstance(value, tuple):
            return tuple(self._track(v) for v in value)
        if isinstance(value, list):
            return TrackedList(value, self)
        if isinstance(value, dict):
            return TrackedDict(value, self)
        return value

    def _untrack(self, value):
        if isinstance(value, Layer):
            self._layers[:] = [l for l in self._layers if l is not value]
        elif isinstance(value, Variable) and id(value) in self._assigned_ids:
            self._assigned_ids.discard(id(value))
            for store in (self._trainable_variables, self._non_trainable_variables):
                store[:] = [v for v in store if v is not value]
        elif isinstance(value, (list, tuple)):
            for v in value:
                self._untrack(v)
        elif isinstance(value, dict):
            for v in value.values():
                self._untrack(v)

    def _owns(self, v) -> bool:
        return any(v is w for w in self._trainable_variables) or any(v is w for w in self._non_trainable_variables)

    def _add_variable(self, v):
        (self._trainable_variables if v.trainable else self._non_trainable_variables).append(v)
        if not self.trainable:
            v.trainable = False

    # ---- to override ---------------------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of the output; by default the input's mask, passed on (for supports_masking layers)."""
        return previous_mask

    def get_config(self) -> dict:
        from forgenet.saving.serialization_lib import DTYPE_POLICY

        # no input_shape, as in Keras: a Sequential records it in its InputLayer entry
        return {"name": self.name, "trainable": self.trainable, "dtype": dict(DTYPE_POLICY)}

    @classmethod
    def from_config(cls, config: dict):
        from forgenet.saving.serialization_lib import layer_kwargs

        return cls(**layer_kwargs(cls, config))  # also takes Keras's configs (dtype policies, initializer dicts)

    # Keras: a layer supports masking when it says so or defines compute_mask. A layer that supports
    # masking and keeps the default compute_mask passes its input's mask on; any other layer ends it.
    @property
    def supports_masking(self) -> bool:
        explicit = self.__dict__.get("_supports_masking")
        if explicit is not None:
            return explicit
        return type(self).compute_mask is not Layer.compute_mask

    @supports_masking.setter
    def supports_masking(self, value):
        object.__setattr__(self, "_supports_masking", bool(value))

    # ---- trainable -------------------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freezing a layer freezes its sublayers, and its Variables stop requiring gradients, so the
        backward pass is never recorded for them (Keras sets Variable.trainable the same way)."""
        value = bool(value)
        object.__setattr__(self, "_trainable", value)
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._layers:
            layer.trainable = value

    # ---- weights -------------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True, name=None,
                   **kwargs):
        unknown = set(kwargs) - {"regularizer", "constraint", "autocast", "aggregation", "overwrite_with_gradient"}
        if unknown:
            raise TypeError(f"{self.name}.add_weight: unexpected keyword arguments {sorted(unknown)}")
        for k in ("regularizer", "constraint"):
            if kwargs.get(k) is not None:
                raise NotImplementedError(f"{self.name}.add_weight: {k}= is not supported yet, got {kwargs[k]!r}")
        shape = tuple(int(s) for s in (shape or ()))
        budget = weight_budget.get()
        if budget is not None:
            budget.charge(self.name, name, shape)
        init = initializers.get(initializer)
        value = np.asarray(init(shape), dtype=np.float32).reshape(shape)
        xp = weight_device.get()
        if xp is not None:  # built lazily inside a model that already lives on the GPU
            value = xp.asarray(value)
        v = Variable(value, name=f"{self.name}/{name or 'variable'}", trainable=trainable)
        self._add_variable(v)
        return v

    @property
    def weights(self) -> list[Variable]:
        """Own variables (trainable ones first, as Keras lists them), then each sublayer's, without repeats."""
        subs = []
        for layer in self._layers:
            subs += layer.weights
        sub_ids = {id(w) for w in subs}
        out, seen = [], set()
        for w in self._trainable_variables + self._non_trainable_variables:
            # a Variable a sublayer owns, merely referenced from an attribute here, keeps its sublayer's place
            if id(w) in seen or (id(w) in self._assigned_ids and id(w) in sub_ids):
                continue
            out.append(w)
            seen.add(id(w))
        for w in subs:
            if id(w) not in seen:
                out.append(w)
                seen.add(id(w))
        return out

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    trainable_variables = property(lambda self: self.trainable_weights)
    non_trainable_variables = property(lambda self: self.non_trainable_weights)
    variables = property(lambda self: self.weights)

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(f"{self.name}: set_weights expected a list of {len(mine)} arrays "
                             f"(shapes {[w.shape for w in mine]}), got {len(weights)}")
        weights = [_weight_array(self.name, w, new) for w, new in zip(mine, weights)]  # numpy or CuPy as given
        for w, new in zip(mine, weights):
            if tuple(new.shape) != w.shape:
                raise ValueError(f"{self.name}: weight '{w.name}' expects shape {w.shape}, got {tuple(new.shape)}")
        for w, new in zip(mine, weights):
            w.assign(new)  # a float32 copy on the weight's device

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    @property
    def output_shape(self):
        if self._output_shape is None:
            raise AttributeError(f"{self.name} has not been called yet, so its output shape is unknown")
        return self._output_shape

    # ---- losses (Keras's add_loss) -------------------------------------------------------------
    def add_loss(self, loss):
        """Add scalar losses (Tensors computed in call(), e.g. an activity penalty) to what fit minimises;
        they are cleared when the outermost layer is called again."""
        self.__dict__.setdefault("_losses", []).extend(loss if isinstance(loss, (list, tuple)) else [loss])

    def _own_losses(self):
        out = list(self.__dict__.get("_losses", ()))
        penalties = getattr(self, "_regularization_losses", None)  # layers with Keras's weight options
        if penalties is not None:
            out += penalties()
        for w in self._trainable_variables + self._non_trainable_variables:  # weight regularizers on a Variable
            reg = getattr(w, "regularizer", None)
            if reg is not None and w.trainable:
                out.append(reg(w))
        return out

    def _self_and_sublayers(self):
        seen, out, stack = set(), [], [self]
        while stack:
            layer = stack.pop(0)
            if id(layer) not in seen:
                seen.add(id(layer))
                out.append(layer)
                stack.extend(layer._layers)
        return out

    @property
    def losses(self) -> list:
        """The losses added by this layer and its sublayers during the last call."""
        return [loss for layer in self._self_and_sublayers() for loss in layer._own_losses()]

    def _clear_losses(self):
        for layer in self._self_and_sublayers():
            layer.__dict__.get("_losses", []).clear()

    # ---- the functional graph (Keras's Operation.input / output) -------------------------------
    def _node_attribute(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called on a symbolic input and thus has "
                                 f"no defined {what}.")
        values = getattr(self._inbound_nodes[0], attr)
        return values[0] if isinstance(values, list) and len(values) == 1 else values

    @property
    def input(self):
        return self._node_attribute("input_tensors", "input")

    @property
    def output(self):
        return self._node_attribute("output_tensors", "output")

    # ---- calling -------------------------------------------------------------------------------
    def _signature(self) -> inspect.Signature:
        cls = type(self)
        sig = cls.__dict__.get("_call_signature")
        if sig is None:
            sig = inspect.signature(self.call)
            type.__setattr__(cls, "_call_signature", sig)
        return sig

    def _accepts(self, arg: str) -> bool:
        cls = type(self)
        names = cls.__dict__.get("_call_arg_names")
        if names is None:
            params = self._signature().parameters
            names = frozenset(params) | ({"**"} if any(p.kind is p.VAR_KEYWORD for p in params.values()) else set())
            type.__setattr__(cls, "_call_arg_names", names)
        return arg in names or "**" in names

    def _prepare(self, x):
        """Arrays in: cast to the layer's dtype; Tensors pass through."""
        if isinstance(x, (Tensor, KerasTensor)) or x is None:
            return x
        if isinstance(x, dict):
            return {k: self._prepare(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(self._prepare(t) for t in x) if type(x) in (list, tuple) else [self._prepare(t) for t in x]
        if not hasattr(x, "dtype"):
            x = np.asarray(x)
        if self.input_dtype and x.dtype != np.float32 and not type(x).__module__.startswith("cupy"):
            x = np.asarray(x, dtype=np.float32)
        return x

    def __call__(self, *args, **kwargs):
        if not args and not kwargs:
            raise TypeError(f"{self.name}: expected an input as the first argument")
        training = kwargs.pop("training", None)
        flat = args if len(args) == 1 and not kwargs and type(args[0]) is Tensor else flatten((args, kwargs))
        if any(isinstance(x, KerasTensor) for x in flat):
            if training is not None:
                kwargs["training"] = training
            return self._symbolic_call(args, kwargs)
        args = tuple(self._prepare(a) for a in args)
        # keyword arrays (e.g. MultiHeadAttention's value/key) are cast too; flags, masks and other
        # plain Python values pass through untouched
        kwargs = {k: self._prepare(v) if hasattr(v, "dtype") and "mask" not in k else v for k, v in kwargs.items()}
        eager = not any(isinstance(a, Tensor) for a in flat)
        if eager and getattr(_call_ctx, "depth", 0) and grad_enabled() and self._records_on_constants(args, kwargs):
            # inside another layer's training call, a layer fed only constants (Embedding(positions)
            # on ops.arange) still owes its weights their gradients, as in Keras
            args, kwargs, eager = _wrap(args), _wrap(kwargs), False
        # binding call's signature costs a little on every call: only when a mask travels with an input
        masked = not eager and any(isinstance(t, Tensor) and t._keras_mask is not None for t in flat)
        # training is inherited from the enclosing layer's call when not given (Keras 3)
        outer = getattr(_call_ctx, "training", None)
        training = outer if training is None else bool(training)
        if eager:
            with no_grad():
                args, kwargs = _wrap(args), _wrap(kwargs)
                out = self._call_with_masks(args, kwargs, training, outer, False)
            out = _unwrap(out)
        else:
            out = self._call_with_masks(args, kwargs, training, outer, masked)
        shape = tuple(out.shape) if hasattr(out, "shape") else (_shape_of(out) if _all_have_shape(out) else None)
        object.__setattr__(self, "_output_shape", shape)
        return out

    def _records_on_constants(self, args, kwargs):
        if not self.built:
            first = args[0] if args else next(iter(kwargs.values()))
            self.build(_shape_of(first))
            self.built = True
        return bool(self.trainable_weights)

    def _call_with_masks(self, args, kwargs, training, outer, masked):
        first = args[0] if args else next(iter(kwargs.values()))
        if not self.built:
            self.build(_shape_of(first))
            self.built = True
        previous_mask = self._fill_masks(args, kwargs) if masked else _UNBOUND
        if previous_mask is _UNBOUND:
            previous_mask = None
            first_arg = first
        else:
            first_arg, previous_mask = previous_mask
        if self._accepts("training"):
            kwargs["training"] = bool(training)
        depth = getattr(_call_ctx, "depth", 0)
        if depth == 0:  # the outermost call: losses of the previous one go
            self._clear_losses()
        _call_ctx.training, _call_ctx.depth = training, depth + 1
        try:
            out = self.call(*args, **kwargs)
        finally:
            _call_ctx.training, _call_ctx.depth = outer, depth
        if self.supports_masking:
            self._set_mask_metadata(first_arg, out, previous_mask)
        elif not self._mask_aware and any(m is not None for m in flatten(previous_mask)):
            warnings.warn(f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a mask "
                          "attached to it. However, this layer does not support masking and will therefore "
                          "destroy the mask information. Downstream layers will not see the mask.", stacklevel=3)
        return out

    def _fill_masks(self, args, kwargs):
        """Keras's rule: one tensor argument -> its mask as `mask=`; several -> `<name>_mask=` where call
        takes one. Returns (first argument, the mask it came with), or _UNBOUND when call's signature
        does not bind these arguments (call raises the real error)."""
        sig = self._signature()
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return _UNBOUND
        params = sig.parameters
        arguments = bound.arguments
        tensor_args = {k: v for k, v in arguments.items() if _is_tensor_arg(v)}
        if len(tensor_args) == 1 and "mask" in params and arguments.get("mask") is None:
            (value,) = tensor_args.values()
            mask = map_structure(get_keras_mask, value)
            if any(m is not None for m in flatten(mask)):
                kwargs["mask"] = mask
        elif len(tensor_args) > 1:
            for k, v in tensor_args.items():
                name = f"{k}_mask"
                if name in params and arguments.get(name) is None:
                    mask = map_structure(get_keras_mask, v)
                    if any(m is not None for m in flatten(mask)):
                        kwargs[name] = mask
        first_name = next(iter(params), None)
        first = arguments.get(first_name, args[0] if args else None)
        if kwargs.get("mask") is not None:
            return first, kwargs["mask"]
        return first, map_structure(get_keras_mask, first)

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        if previous_mask is None and type(self).compute_mask is Layer.compute_mask:
            return  # the default passes on a mask, and there is none
        flat = [t for t in flatten(outputs) if isinstance(t, Tensor)]
        if not flat or all(t._keras_mask is not None for t in flat):
            return
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for t, m in zip(flatten(outputs), flatten(masks)):
            if isinstance(t, Tensor) and t._keras_mask is None and m is not None:
                set_keras_mask(t, m)

    # ---- symbolic calls (functional API) -------------------------------------------------------
    def _symbolic_call(self, args, kwargs):
        """Build the layer and infer its outputs by running it on small zero probes (no graph is
        recorded), then record the call as a Node and return symbolic outputs."""
        kts = [x for x in flatten([args, kwargs]) if isinstance(x, KerasTensor)]
        if not self.built and not _is_model(self):
            # Keras builds on the symbolic shapes (None where unknown); models build by running a probe
            first = args[0] if args else next(iter(kwargs.values()))
            self.build(_shape_of(first))
            self.built = True
        static_batch = {kt.shape[0] for kt in kts if kt.shape}
        batch = static_batch.pop() if len(static_batch) == 1 else None
        unknown = any(d is None for kt in kts for d in kt.shape[1:])
        probe_kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        probe_kwargs["training"] = kwargs.get("training") or False
        first = self._probe(args, probe_kwargs, _PROBE_SIZES[0])
        flat1 = flatten(first)
        if not all(isinstance(t, Tensor) for t in flat1):
            raise TypeError(f"{self.name}: called on symbolic inputs, call() must return tensors, got "
                            f"{[type(t).__name__ for t in flat1]}")
        shapes = [list(t.shape) for t in flat1]
        if unknown:
            given = self._declared_output_shapes(args, kwargs, kts, flat1)
            if given is not None:
                shapes = given
            else:
                second = flatten(self._probe(args, probe_kwargs, _PROBE_SIZES[1]))
                for s, t in zip(shapes, second):
                    for i, d in enumerate(t.shape):
                        if i < len(s) and s[i] != d:
                            s[i] = None
        for s, t in zip(shapes, flat1):
            if s and t.shape[0] == _PROBE_BATCH:
                s[0] = batch
        outs = []
        for s, t in zip(shapes, flat1):
            kt = KerasTensor(tuple(s), dtype=np.dtype(t.dtype).name)
            m = t._keras_mask
            if m is not None:
                ms = [s[i] if i < len(s) and m.shape[i] == t.shape[i] else m.shape[i] for i in range(m.ndim)]
                if ms:
                    ms[0] = s[0] if s else batch
                kt._keras_mask = KerasTensor(tuple(ms), dtype="bool")
            outs.append(kt)
        from forgenet.layers.node import pack_like
        result = pack_like(_structure(first), outs)
        Node(self, args, kwargs, outputs=result)
        self._output_shape = tuple(outs[0].shape) if len(outs) == 1 else [tuple(o.shape) for o in outs]
        return result

    def _probe(self, args, kwargs, size):
        memo = {}
        xp = weight_device.get() or np

        def make(x):
            if not isinstance(x, KerasTensor):
                return x
            if id(x) not in memo:
                shape = tuple(_PROBE_BATCH if i == 0 else (size if d is None else d) for i, d in enumerate(x.shape))
                t = Tensor(xp.zeros(shape, dtype=x.dtype))
                if x._keras_mask is not None:
                    ms = tuple(_PROBE_BATCH if i == 0 else (size if d is None else d)
                               for i, d in enumerate(x._keras_mask.shape))
                    t._keras_mask = xp.ones(ms, dtype=bool)
                memo[id(x)] = t
            return memo[id(x)]

        pa, pk = map_structure(make, args), map_structure(make, kwargs)
        with no_grad(), np.errstate(all="ignore"):
            return self.__call__(*pa, **pk)

    def _declared_output_shapes(self, args, kwargs, kts, probed):
        """compute_output_shape's answer where the layer defines one for its single tensor argument and
        it agrees with the probe; None to fall back on a second probe."""
        fn = getattr(type(self), "compute_output_shape", None)
        if fn is None or len(args) != 1 or any(isinstance(v, KerasTensor) for v in flatten(kwargs)):
            return None
        try:
            got = self.compute_output_shape(map_structure(lambda kt: kt.shape, args[0]))
        except Exception:
            return None
        got = _flatten_shapes(got)
        if got is None or len(got) != len(probed):
            return None
        out = []
        for s, t in zip(got, probed):
            if len(s) != t.ndim:
                return None
            for i, (d, p) in enumerate(zip(s, t.shape)):
                if i > 0 and d is not None and d != p:
                    return None
            out.append(list(s))
        return out

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


_UNBOUND = object()


class TrackedList(list):
    """A list attribute of a layer: layers and variables added to it later are tracked too (Keras)."""

    def __init__(self, values=(), owner=None):
        self._owner = owner
        super().__init__(owner._track(v) for v in values) if owner is not None else super().__init__(values)

    def _t(self, v):
        return self._owner._track(v) if self._owner is not None else v

    def append(self, value): super().append(self._t(value))
    def insert(self, index, value): super().insert(index, self._t(value))
    def extend(self, values): super().extend([self._t(v) for v in values])

    def __iadd__(self, values):
        self.extend(values)
        return self

    def __setitem__(self, index, value):
        old = self[index]
        new = [self._t(v) for v in value] if isinstance(index, slice) else self._t(value)
        super().__setitem__(index, new)
        self._drop(old if isinstance(index, slice) else [old])

    def __delitem__(self, index):
        old = self[index]
        super().__delitem__(index)
        self._drop(old if isinstance(index, slice) else [old])

    def remove(self, value):
        super().remove(value)
        self._drop([value])

    def pop(self, index=-1):
        value = super().pop(index)
        self._drop([value])
        return value

    def clear(self):
        old = list(self)
        super().clear()
        self._drop(old)

    def _drop(self, values):
        if self._owner is not None:
            for v in values:
                self._owner._untrack(v)

    def __reduce_ex__(self, protocol):  # copies and pickles are plain lists
        return list, (list(self),)


class TrackedDict(dict):
    """A dict attribute of a layer: layers and variables stored in it later are tracked too (Keras)."""

    def __init__(self, values=(), owner=None):
        self._owner = owner
        items = values.items() if hasattr(values, "items") else values
        super().__init__((k, owner._track(v) if owner is not None else v) for k, v in items)

    def __setitem__(self, key, value):
        if key in self and self._owner is not None:
            self._owner._untrack(self[key])
        super().__setitem__(key, self._owner._track(value) if self._owner is not None else value)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kwargs):
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def __delitem__(self, key):
        value = self[key]
        super().__delitem__(key)
        if self._owner is not None:
            self._owner._untrack(value)

    def pop(self, key, *default):
        had = key in self
        value = super().pop(key, *default)
        if had and self._owner is not None:
            self._owner._untrack(value)
        return value

    def popitem(self):
        key, value = super().popitem()
        if self._owner is not None:
            self._owner._untrack(value)
        return key, value

    def clear(self):
        values = list(self.values())
        super().clear()
        if self._owner is not None:
            for v in values:
                self._owner._untrack(v)

    def __reduce_ex__(self, protocol):
        return dict, (dict(self),)


def _is_model(layer) -> bool:
    from forgenet.models.model import Model

    return isinstance(layer, Model)


def _is_tensor_arg(v) -> bool:
    if isinstance(v, Tensor):
        return True
    if isinstance(v, (list, tuple, dict)) and len(v) > 0:
        leaves = flatten(v)
        return all(isinstance(x, Tensor) or x is None for x in leaves) and any(isinstance(x, Tensor) for x in leaves)
    return False


def _all_have_shape(x) -> bool:
    return all(hasattr(t, "shape") for t in flatten(x))


def _structure(x):
    """The nesting of x with every leaf replaced by None (what pack_like refills)."""
    return map_structure(lambda _: None, x)


def _flatten_shapes(s):
    """[shape, ...] from a shape or a nested structure of shapes; None if it is neither."""
    if isinstance(s, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return [tuple(None if d is None else int(d) for d in s)]
    if isinstance(s, (tuple, list)):
        out = []
        for item in s:
            sub = _flatten_shapes(item)
            if sub is None:
                return None
            out += sub
        return out
    if isinstance(s, dict):
        return _flatten_shapes([s[k] for k in sorted(s)])
    return None


def _weight_array(layer, w, new):
    """A numeric array for set_weights: None, objects, strings, bools and complex values are refused
    rather than cast (np.asarray would make an object array that float32 casting turns into garbage)."""
    if new is None:
        raise TypeError(f"{layer}: set_weights got None for weight '{w.name}'; expected an array of shape {w.shape}")
    if not hasattr(new, "shape") or not hasattr(new, "dtype"):
        try:
            new = np.asarray(new)
        except (ValueError, TypeError) as e:
            raise TypeError(f"{layer}: set_weights got a value for weight '{w.name}' that is not an array ({e})") from None
    kind = np.dtype(new.dtype).kind
    if kind not in "fiu":
        raise TypeError(f"{layer}: set_weights expects a float (or integer) array for weight '{w.name}', got dtype "
                        f"{new.dtype}")
    return new



def _wrap(x):
    if isinstance(x, dict):
        return {k: _wrap(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(t) for t in x) if type(x) in (list, tuple) else [_wrap(t) for t in x]
    return Tensor(x) if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, Tensor) else x


def _unwrap(x):
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(t) for t in x) if type(x) in (list, tuple) else [_unwrap(t) for t in x]
    return x.data if isinstance(x, Tensor) else x

"""Keras's per-weight options for the layers that take them: `<w>_regularizer`, `<w>_constraint` and
`activity_regularizer` (Dense, Conv2D, Embedding, LSTM, ...).

A layer opts in by listing its weights: `class Dense(weight_options(kernel="kernel", bias="bias"), Layer)`
(option prefix -> the name its add_weight uses; LSTM's "recurrent" options go to "recurrent_kernel").
Then:
- `layer._regularization_losses()` returns this layer's penalties as scalar Tensors in the graph: each
  weight regularizer on its weight, and the activity regularizer on the outputs of the last call
  divided by the batch size (Keras 3). The Trainer adds them, over all layers, to the loss.
- constraints are applied by the optimizer after each update (forgenet.constraints.constraint_of).
- get_config writes the options that are set, serialized as Keras does.
"""
from __future__ import annotations

import inspect

from forgenet import constraints, regularizers
from forgenet.autograd.tensor import Tensor
from forgenet.layers.node import any_symbolic


class WeightOptions:
    _weight_options: dict = {}

    def __init__(self, *args, activity_regularizer=None, **kwargs):
        opts = {}
        for prefix in self._weight_options:
            opts[f"{prefix}_regularizer"] = regularizers.get(kwargs.pop(f"{prefix}_regularizer", None))
            opts[f"{prefix}_constraint"] = constraints.get(kwargs.pop(f"{prefix}_constraint", None))
        super().__init__(*args, **kwargs)
        for k, v in opts.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "activity_regularizer", regularizers.get(activity_regularizer))
        object.__setattr__(self, "_weight_regularizers", [])
        object.__setattr__(self, "_activity_losses", [])

    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True, name=None,
                   regularizer=None, constraint=None):
        v = super().add_weight(shape, initializer, dtype, trainable, name)
        prefix = next((p for p, w in self._weight_options.items() if w == name), None)
        if regularizer is None and prefix is not None:
            regularizer = getattr(self, f"{prefix}_regularizer", None)
        if constraint is None and prefix is not None:
            constraint = getattr(self, f"{prefix}_constraint", None)
        if regularizer is not None:
            self._weight_regularizers.append((v, regularizers.get(regularizer)))
        if constraint is not None:
            constraints.attach(v, constraints.get(constraint))
        return v

    def __call__(self, *args, **kwargs):
        out = super().__call__(*args, **kwargs)
        if self.activity_regularizer is not None and not any_symbolic(out):
            outs = out if isinstance(out, (list, tuple)) else [out]
            losses = []
            for o in outs:
                # eager calls on plain arrays give arrays back; Keras's penalty is owed on those too
                if isinstance(o, Tensor) or (hasattr(o, "shape") and hasattr(o, "dtype")):
                    loss = self.activity_regularizer(o)
                    if o.ndim > 0 and o.shape[0]:
                        loss = loss * (1.0 / o.shape[0])
                    losses.append(loss)
            self._activity_losses = losses
        return out

    def _regularization_losses(self) -> list:
        """This layer's penalties (scalar Tensors): weight regularizers, then the last call's activity one."""
        return [reg(v) for v, reg in self._weight_regularizers] + list(self._activity_losses)

    def get_config(self):
        cfg = super().get_config()
        # only the options that are set (Keras writes None for unset weight options; leaving them out reads
        # back the same and keeps configs of plain layers as they were)
        for prefix in self._weight_options:
            for kind, mod in (("regularizer", regularizers), ("constraint", constraints)):
                value = getattr(self, f"{prefix}_{kind}")
                if value is not None:
                    cfg[f"{prefix}_{kind}"] = mod.serialize(value)
        if self.activity_regularizer is not None:
            cfg["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return cfg


def weight_options(**names):
    """The mixin for a layer whose weights `names` (option prefix -> weight name) take the options."""

    def __init__(self, *args, **kwargs):
        WeightOptions.__init__(self, *args, **kwargs)

    # the options are named in the signature so that from_config (saving.layer_kwargs) sees that this
    # layer takes them, and does not refuse a set `<w>_regularizer` as a Keras-only argument
    P = inspect.Parameter
    opts = [f"{p}_{k}" for p in names for k in ("regularizer", "constraint")] + ["activity_regularizer"]
    __init__.__signature__ = inspect.Signature(
        [P("self", P.POSITIONAL_OR_KEYWORD), P("args", P.VAR_POSITIONAL)]
        + [P(o, P.KEYWORD_ONLY, default=None) for o in opts] + [P("kwargs", P.VAR_KEYWORD)])
    return type("WeightOptions", (WeightOptions,), {"_weight_options": dict(names), "__init__": __init__})


def regularization_losses(layer) -> list:
    """Every penalty of `layer` and the layers inside it (each layer once)."""
    out, seen, stack = [], set(), [layer]
    while stack:
        lay = stack.pop()
        if id(lay) in seen:
            continue
        seen.add(id(lay))
        if isinstance(lay, WeightOptions):
            out.extend(lay._regularization_losses())
        stack.extend(reversed(getattr(lay, "_layers", []) or []))
        stack.extend(reversed([x for x in getattr(lay, "layers", []) or [] if id(x) not in seen]))
    return out

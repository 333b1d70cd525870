"""StackedRNNCells (Keras 3): a list of RNN cells that behaves as one cell; `RNN([cell, cell])` wraps a
list in it. Its state_size is nested (one entry per cell, as Keras), the states an RNN returns are the
flat list (Keras's tree.flatten order: cell by cell, each cell's states in order)."""
from __future__ import annotations

from forgenet.autograd.tensor import Tensor
from forgenet.layers.base import Layer


def flat_sizes(state_size) -> list:
    if isinstance(state_size, (list, tuple)):
        return [s for part in state_size for s in flat_sizes(part)]
    return [state_size]


def _is_state(x):
    return isinstance(x, Tensor) or (hasattr(x, "shape") and hasattr(x, "dtype"))


class StackedRNNCells(Layer):
    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"{self.name}: cells must be a non-empty list of RNN cells, got {cells!r}")
        for cell in cells:
            if not hasattr(cell, "call"):
                raise ValueError(f"{self.name}: all cells must have a `call` method, got {cell!r}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError(f"{self.name}: all cells must have a `state_size` attribute, got {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        return flat_sizes(last.state_size)[0]

    def get_initial_state(self, batch_size=None):
        from forgenet import ops

        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            init = fn(batch_size=batch_size) if fn else [ops.zeros((batch_size, d)) for d in flat_sizes(cell.state_size)]
            out.append(list(init) if isinstance(init, (list, tuple)) else init)
        return out

    def _per_cell(self, states):
        """states as one entry per cell: accepts Keras's nested form or the flat list an RNN carries."""
        states = list(states)
        counts = [len(flat_sizes(c.state_size)) for c in self.cells]
        # flat (every entry one state; when each cell has one state the two forms coincide)
        if len(states) == sum(counts) and all(_is_state(s) for s in states):
            groups, i = [], 0
            for k in counts:
                groups.append(states[i:i + k])
                i += k
            return groups
        if len(states) != len(self.cells):
            raise ValueError(f"{self.name}: expected states for {len(self.cells)} cells, got {len(states)}")
        return [list(s) if isinstance(s, (list, tuple)) else [s] for s in states]

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, self._per_cell(states)):
            nested = isinstance(cell.state_size, (list, tuple))
            if isinstance(cell, Layer):
                kw = {"training": training} if cell._accepts("training") else {}
                inputs, out = cell(inputs, cell_states, **kw)
            else:
                inputs, out = cell.call(inputs, cell_states)
            out = list(out) if isinstance(out, (list, tuple)) else [out]
            new_states.append(out if nested or len(out) != 1 else out[0])
        return inputs, (new_states[0] if len(new_states) == 1 else new_states)

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
            out = getattr(cell, "output_size", None)
            out = flat_sizes(cell.state_size)[0] if out is None else out
            input_shape = (input_shape[0], out)
        self.built = True

    def get_config(self):
        from forgenet.models.saving import serialize_layer

        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from forgenet.models.saving import deserialize_layer

        config = dict(config)
        cells = [deserialize_layer(c, custom_objects=custom_objects, who=f"{cls.__name__}.from_config")
                 for c in config.pop("cells")]
        return cls(cells, **config)

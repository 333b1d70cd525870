"""RNN (Keras 3): runs a cell over the time axis, with Keras's rules for states, masks, go_backwards,
stateful layers and dropout. LSTM, GRU and SimpleRNN are RNNs whose whole sequence runs as one fused
kernel call when nothing needs the per-step loop (a mask, or recurrent dropout in training, does).

Masks follow Keras's backend rnn: a masked step keeps the states and repeats the previous output
(zeros before the first unmasked step); with zero_output_for_mask (Bidirectional sets it when it
returns sequences) masked outputs are zeros instead, the last output included. With go_backwards the
sequence is read in reverse and returned in that (reversed) order, as Keras does.

`unroll` is accepted and stored but changes nothing: in Keras it only trades memory for speed of
graph-compiled loops, never the numbers, and our loop is eager either way.
"""
from __future__ import annotations

import numpy as np

from forgenet import functional as F
from forgenet import regularizers
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.layers.base import Layer
from forgenet.layers.core import check_rank
from forgenet.layers.stacked_cells import StackedRNNCells, flat_sizes
from forgenet.layers.weight_options import weight_options

_NTD = "(batch, timesteps, features)"


def _data(a):
    return a.data if isinstance(a, Tensor) else a


def stack_steps(outs):
    """[(N, U)] * T -> (N, T, U)."""
    return F.concatenate([F.reshape(o, (o.shape[0], 1) + tuple(o.shape[1:])) for o in outs], axis=1)


class RNN(weight_options(), Layer):  # activity_regularizer, on every output (Keras)
    supports_masking = True
    _state_names = None  # e.g. ["h", "c"], for error messages; None: "state 0", "state 1", ...

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)  # Keras: a list of cells is their stack
        super().__init__(**kwargs)
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError(f"{self.name}: state_size must be specified as property on the RNN cell, got {cell!r}")
        if not isinstance(state_size, (list, tuple, int, np.integer)) or \
                any(not isinstance(s, (int, np.integer)) for s in flat_sizes(state_size)):
            raise ValueError(f"{self.name}: the cell's state_size must be an integer or a list of integers "
                             f"(one for each state tensor), got {state_size!r}")
        self.cell = cell
        self.state_size = [int(s) for s in flat_sizes(state_size)]
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)  # speed-only in Keras: no effect on the numbers (module docstring)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None  # the carried states of a stateful layer (arrays, outside the graph)

    # ---- shapes ---------------------------------------------------------------------------------------
    def _check_input(self, shape):
        check_rank(self.name, shape, 3, _NTD)

    def build(self, input_shape):
        self._check_input(input_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((input_shape[0],) + tuple(input_shape[2:]))
            self.cell.built = True
        self.built = True

    @property
    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        return int(size) if size is not None else self.state_size[0]

    def compute_output_shape(self, input_shape):
        n, t = input_shape[0], input_shape[1]
        out = (n, t, self._output_size) if self.return_sequences else (n, self._output_size)
        states = self._nest([(n, s) for s in self.state_size])
        return (out, *states) if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self._nest(self.state_size)) if self.return_state else out

    # ---- states ---------------------------------------------------------------------------------------
    def get_initial_state(self, batch_size, like=None):
        fn = getattr(self.cell, "get_initial_state", None)
        xp = array_module(_data(like)) if like is not None else np
        if fn is not None:
            init = flat_sizes(fn(batch_size=batch_size))  # nested for stacked cells
            return [xp.asarray(_data(s), dtype=np.float32) for s in init]
        return [xp.zeros((batch_size, s), np.float32) for s in self.state_size]

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        """Zero the carried states of a stateful layer (Keras's reset_state / reset_states)."""
        if self.states is not None:
            self.states = [array_module(s).zeros_like(s) for s in self.states]

    def _state_name(self, i):
        return f"initial state {self._state_names[i]}" if self._state_names else f"initial state {i}"

    def _initial_states(self, inputs, initial_state):
        n = inputs.shape[0]
        if self.stateful and self.states is not None and self.states[0].shape[0] != n:
            raise ValueError(f"{self.name}: if an RNN is stateful, the batch size of the input sequences must be "
                             f"the same as the batch size of the initial state. Expected batch size "
                             f"{self.states[0].shape[0]}, got {n}")
        if initial_state is None:
            if self.stateful:
                if self.states is None:
                    self.states = self.get_initial_state(n, like=inputs)
                return list(self.states)
            return self.get_initial_state(n, like=inputs)
        states = flat_sizes(initial_state)  # nested for stacked cells, as Keras takes them
        # Keras casts the states to the layer's dtype; Tensors keep their graph (and must be float32)
        states = [s if isinstance(s, Tensor) else array_module(s).asarray(s, dtype=np.float32) for s in states]
        if len(states) != len(self.state_size):
            raise ValueError(f"{self.name}: initial_state must be a list of {len(self.state_size)} arrays of shapes "
                             f"{[(n, s) for s in self.state_size]}, got {len(states)}")
        for i, (s, size) in enumerate(zip(states, self.state_size)):
            if tuple(s.shape) != (n, size):
                raise ValueError(f"{self.name}: {self._state_name(i)} must have shape ({n}, {size}), "
                                 f"got {tuple(s.shape)}")
        return states

    # ---- calling --------------------------------------------------------------------------------------
    def _normalise_mask(self, mask, inputs):
        if mask is None:
            return None
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
            if mask is None:
                return None
        xp = array_module(_data(inputs))
        m = xp.asarray(_data(mask)).astype(bool)
        n, t = inputs.shape[0], inputs.shape[1]
        if tuple(m.shape) != (n, t):
            raise ValueError(f"{self.name}: mask must have shape ({n}, {t}) (batch, timesteps), got {tuple(m.shape)}")
        return None if bool(m.all()) else m

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_input(sequences.shape)
        states = self._initial_states(sequences, initial_state)
        mask = self._normalise_mask(mask, sequences)
        x = sequences
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        try:
            last, outputs, states = self.inner_loop(x, states, mask, training=bool(training))
        finally:
            for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
                if hasattr(self.cell, reset):
                    getattr(self.cell, reset)()
        if self.stateful:
            self.states = [_data(s) for s in states]  # carried as values: the graph ends at each batch
        out = outputs if self.return_sequences else last
        return [out, *self._nest(states)] if self.return_state else out

    def _nest(self, flat):
        """The flat per-state list in the cell's state structure (Keras returns stacked cells' states nested)."""
        structure = getattr(self.cell, "state_size", None)
        if not isinstance(structure, (list, tuple)) or all(not isinstance(s, (list, tuple)) for s in structure):
            return list(flat)
        out, i = [], 0
        for part in structure:
            k = len(flat_sizes(part))
            out.append(list(flat[i:i + k]) if isinstance(part, (list, tuple)) else flat[i])
            i += k
        return out

    def _cell_call(self, x_t, states, training):
        cell = self.cell
        if isinstance(cell, Layer):
            kw = {"training": training} if cell._accepts("training") else {}
            out, new = cell(x_t, states, **kw)
        else:
            out, new = cell.call(x_t, states)
        return out, flat_sizes(new)  # the carried states stay one flat list (stacked cells nest theirs)

    def inner_loop(self, x, states, mask, training=False):
        """The per-step loop over the cell: (last_output, outputs (N, T, U) in processed order, states)."""
        t_steps = x.shape[1]
        if t_steps == 0:
            xp = array_module(_data(x))
            return states[0], Tensor(xp.zeros((x.shape[0], 0, self._output_size), np.float32)), states
        xp = array_module(_data(x))
        outs, prev = [], None
        for t in range(t_steps):
            out, new = self._cell_call(x[:, t], states, training)
            if mask is not None:
                m = xp.asarray(mask[:, t:t + 1], dtype=np.float32)
                keep, skip = m, 1.0 - m
                # exact selection for a 0/1 mask, as Keras's where()
                out = out * keep if prev is None else out * keep + prev * skip
                new = [s_new * keep + s_old * skip for s_new, s_old in zip(new, states)]
            states, prev = new, out
            outs.append(out)
        outputs = stack_steps(outs)
        last = outs[-1]
        if mask is not None and self.zero_output_for_mask:
            m3 = xp.asarray(mask[:, :, None], dtype=np.float32)
            outputs = outputs * m3
            last = last * xp.asarray(mask[:, -1:], dtype=np.float32)
        return last, outputs, states

    def get_config(self):
        from forgenet.models.saving import serialize_layer

        return {**super().get_config(), "cell": serialize_layer(self.cell), **self._rnn_config()}

    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from forgenet.models.saving import deserialize_layer

        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects=custom_objects, who=f"{cls.__name__}.from_config")
        return cls(cell, **config)


class FusedRNN(RNN):
    """LSTM / GRU / SimpleRNN: an RNN over its own cell, whose whole sequence runs as one fused kernel
    call (forward, and backward through time) unless a mask or training-time recurrent dropout needs the
    per-step loop. Arguments and config are the cell's plus RNN's, flat, as in Keras."""

    cell_class = None

    def __init__(self, units, *, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, use_cudnn="auto", zero_output_for_mask=False, name=None, trainable=True, dtype=None,
                 input_shape=None, input_dim=None, activity_regularizer=None, **cell_kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        cell = self.cell_class(units, name=f"{_snake(type(self).__name__)}_cell", trainable=trainable, **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, name=name, trainable=trainable, dtype=dtype,
                         input_shape=input_shape, input_dim=input_dim, activity_regularizer=activity_regularizer)
        self.use_cudnn = use_cudnn

    def __getattr__(self, name):
        # Keras's LSTM / GRU / SimpleRNN expose the cell's settings and weights as their own
        if name in ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
                    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "dropout", "recurrent_dropout",
                    "seed", "reset_after", "implementation", "kernel", "recurrent_kernel", "bias"):
            cell = self.__dict__.get("cell")
            if cell is not None:
                return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _check_input(self, shape):
        check_rank(self.name, shape, 3, _NTD)
        k = self.cell.kernel
        if k is not None and shape[2] not in (None, k.shape[0]):
            raise ValueError(f"{self.name}: expected input with {k.shape[0]} features (last axis), "
                             f"got shape {tuple(shape)}")

    def _fused_ok(self, mask, training):
        cell = self.cell
        rec = training and 0.0 < cell.recurrent_dropout < 1.0
        # implementation 1 (set by recurrent_dropout) draws one input mask per gate: the cell's loop
        per_gate = training and cell.dropout_mask_count is not None and 0.0 < cell.dropout < 1.0
        return mask is None and not rec and not per_gate and self._fused_available()

    def inner_loop(self, x, states, mask, training=False):
        if not self._fused_ok(mask, training):
            return super().inner_loop(x, states, mask, training)
        if training:
            dp = self.cell.get_dropout_mask(x[:, 0])  # Keras: one input mask for every step
            if dp is not None:
                x = x * array_module(_data(dp)).expand_dims(_data(dp), 1)
        outputs, states = self._fused(x, states)
        return states[0], outputs, states

    def get_config(self):
        cfg = Layer.get_config(self)
        cell_cfg = self.cell.get_config()
        for k in ("name", "trainable", "input_shape"):
            cell_cfg.pop(k, None)
        act = self.activity_regularizer
        return {**cfg, **cell_cfg, "activity_regularizer": None if act is None else regularizers.serialize(act),
                **self._rnn_config()}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _snake(name):
    import re

    base = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()

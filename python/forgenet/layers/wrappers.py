"""Bidirectional and TimeDistributed (Keras 3 wrappers)."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor
from forgenet.layers.base import Layer
from forgenet.layers.recurrent import stack_steps

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(layer):
    from forgenet.models.saving import serialize_layer

    return serialize_layer(layer)


def _deserialize(spec, custom_objects, who):
    from forgenet.models.saving import deserialize_layer

    return deserialize_layer(spec, custom_objects=custom_objects, who=who)


def _copy(layer, **changes):
    """A fresh layer of the same class and config (Keras builds the wrapped copies this way)."""
    return type(layer).from_config({**layer.get_config(), **changes})


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs `layer` forwards and a copy of it backwards (or `backward_layer`) and merges the two.

    Weights are the forward layer's, then the backward layer's (Keras's order). The backward output is
    flipped back to forward time order when sequences are returned, as Keras does.
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: layer must be a forgenet Layer instance, got {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: backward_layer must be a forgenet Layer instance, got {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}; expected one of "
                             "'sum', 'mul', 'ave', 'concat' or None")
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            self.backward_layer = _copy(layer, name=f"backward_{_strip(layer.name, 'backward_')}", go_backwards=True)
        else:
            self.backward_layer = backward_layer
        self._user_backward = backward_layer is not None
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError(f"Bidirectional: the forward and backward layers must have different go_backwards "
                             f"values, got forward {f.go_backwards} and backward {b.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(f, a) != getattr(b, a):
                raise ValueError(f"Bidirectional: the forward and backward layers must have the same {a}, got "
                                 f"{getattr(f, a)} (forward) and {getattr(b, a)} (backward)")
        for sub in (f, b):  # Keras: masked outputs are zeros when sequences are returned
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful, self.return_sequences, self.return_state = f.stateful, f.return_sequences, f.return_state
        self._initial_weights = list(weights) if weights else None

    def build(self, input_shape):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(input_shape)
                sub.built = True
        if self._initial_weights:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=False):
        kw = {}
        if self.forward_layer._accepts("mask"):
            kw["mask"] = mask
        fwd_state = bwd_state = None
        if initial_state is not None:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            fwd_state, bwd_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=fwd_state, training=training, **kw)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state, training=training, **kw)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if self.merge_mode == "concat":
            out = F.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) * 0.5
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "reset_state"):
                sub.reset_state()

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            n_states = len(getattr(self.forward_layer, "state_size", [])) * 2
            return outs + [None] * n_states
        return outs[0] if len(outs) == 1 else outs

    def get_config(self):
        cfg = {**super().get_config(), "merge_mode": self.merge_mode, "layer": _serialize(self.forward_layer)}
        if self._user_backward:
            cfg["backward_layer"] = _serialize(self.backward_layer)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects, "Bidirectional.from_config")
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects,
                                                    "Bidirectional.from_config")
        return cls(**config)


class TimeDistributed(Layer):
    """Applies `layer` to every time step: inputs (batch, time, ...) -> (batch, time, ...).

    One call of the wrapped layer per step, as Keras does, so layers whose result depends on the batch
    (BatchNormalization in training) see exactly what they see in Keras.
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: layer must be a forgenet Layer instance, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"{self.name}: TimeDistributed needs an input of rank >= 3 (batch, time, ...), "
                             f"got shape {tuple(input_shape)}")
        if not self.layer.built:
            self.layer.build((input_shape[0],) + tuple(input_shape[2:]))
            self.layer.built = True
        self.built = True

    def call(self, inputs, training=False, mask=None):
        if len(inputs.shape) < 3:
            raise ValueError(f"{self.name}: TimeDistributed needs an input of rank >= 3 (batch, time, ...), "
                             f"got shape {tuple(inputs.shape)}")
        n, t = inputs.shape[0], inputs.shape[1]
        if mask is not None:
            m = mask.data if isinstance(mask, Tensor) else mask
            if len(m.shape) < 2 or tuple(m.shape[:2]) != (n, t):
                raise ValueError(f"{self.name}: the mask passed to TimeDistributed must start with (batch, "
                                 f"timesteps) = ({n}, {t}), got shape {tuple(m.shape)}")
        kw = {}
        if self.layer._accepts("training"):
            kw["training"] = training
        outs = []
        for i in range(t):
            if mask is not None and self.layer._accepts("mask"):
                kw["mask"] = m[:, i]
            outs.append(self.layer.call(inputs[:, i], **kw))
        if not outs:
            raise ValueError(f"{self.name}: TimeDistributed needs at least one time step, got shape "
                             f"{tuple(inputs.shape)}")
        return stack_steps(outs)

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((input_shape[0],) + tuple(input_shape[2:]))
        return (inner[0], input_shape[1]) + tuple(inner[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects, "TimeDistributed.from_config")
        return cls(**config)

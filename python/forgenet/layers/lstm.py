"""LSTM (Keras 3): kernel (input_dim, 4*units), recurrent_kernel (units, 4*units), bias (4*units,),
gates in the order i, f, c, o. The whole sequence runs as one fused C++ call forward and one
backward through time (functional.lstm); a `mask` falls back to a step-by-step loop over the same
kernel, carrying state and output over masked steps as Keras does."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import functional as F
from forgenet import initializers
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional.lstm import zeros_state
from forgenet.layers.base import Layer
from forgenet.layers.weight_options import weight_options
from forgenet.layers.core import check_initializers, check_rank, initializer_config, positive_int
from forgenet.utils import get_rng

_NTD = "(batch, timesteps, features)"


def _activation_key(layer, arg, value, want):
    """The fused kernel has tanh / sigmoid built in; other activations are refused, not ignored."""
    name = value if isinstance(value, str) else F.activation_name(value) if callable(value) else value
    if name != want:
        raise ValueError(f"{layer}: only {arg}={want!r} is supported (the fused LSTM kernel), got {value!r}")
    return want


class LSTM(weight_options(kernel="kernel", recurrent="recurrent_kernel", bias="bias"), Layer):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, **kwargs):
        super().__init__(**kwargs)
        n = self.name
        self.units = positive_int(n, "units", units)
        self.activation = _activation_key(n, "activation", activation, "tanh")
        self.recurrent_activation = _activation_key(n, "recurrent_activation", recurrent_activation, "sigmoid")
        self.use_bias = bool(use_bias)
        check_initializers(n, kernel_initializer, recurrent_initializer, bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.unit_forget_bias = bool(unit_forget_bias)
        for arg, v in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or not 0.0 <= v <= 1.0:
                raise ValueError(f"{n}: {arg} must be a float between 0 and 1, got {v!r}")
        if recurrent_dropout:
            raise ValueError(f"{n}: recurrent_dropout is not supported (the fused kernel has no per-step "
                             f"recurrent mask), got {recurrent_dropout!r}")
        if stateful:
            raise ValueError(f"{n}: stateful=True is not supported")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"{n}: seed must be an int or None, got {seed!r}")
        self.dropout, self.recurrent_dropout, self.seed = float(dropout), 0.0, seed
        self._rng = None if seed is None else np.random.default_rng(int(seed))
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful, self.unroll = False, bool(unroll)  # unroll changes nothing here: one kernel call
        self.kernel = self.recurrent_kernel = self.bias = None

    def _check(self, shape):
        check_rank(self.name, shape, 3, _NTD)
        if self.kernel is not None and shape[2] not in (None, self.kernel.shape[0]):
            raise ValueError(f"{self.name}: expected input with {self.kernel.shape[0]} features (last axis), "
                             f"got shape {tuple(shape)}")

    def build(self, input_shape):
        self._check(input_shape)
        if input_shape[2] is None:
            raise ValueError(f"{self.name}: the feature dimension of the input must be known, got shape {tuple(input_shape)}")
        u = self.units
        self.kernel = self.add_weight((input_shape[2], 4 * u), self.kernel_initializer, name="kernel")
        self.recurrent_kernel = self.add_weight((u, 4 * u), self.recurrent_initializer, name="recurrent_kernel")
        if self.use_bias:
            init = initializers.get(self.bias_initializer)
            if self.unit_forget_bias:  # Keras: the forget gate's bias starts at 1
                def bias_init(shape):
                    return np.concatenate([np.asarray(init((u,)), np.float32), np.ones(u, np.float32),
                                           np.asarray(init((2 * u,)), np.float32)])
            else:
                bias_init = init
            self.bias = self.add_weight((4 * u,), bias_init, name="bias")
        self.built = True

    def call(self, inputs, initial_state=None, mask=None, training=False):
        self._check(inputs.shape)
        n, t = inputs.shape[0], inputs.shape[1]
        u = self.units
        x = inputs
        xp = array_module(inputs.data if isinstance(inputs, Tensor) else inputs)  # masks live where x does
        if training and 0.0 < self.dropout < 1.0:  # Keras: one input mask for every step
            rng = self._rng if self._rng is not None else get_rng()
            keep = rng.random((n, 1, x.shape[2]), dtype=np.float32) >= self.dropout
            x = x * xp.asarray(keep.astype(np.float32) / np.float32(1.0 - self.dropout))
        if initial_state is None:
            h0 = c0 = zeros_state(inputs, u)
        else:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2:
                raise ValueError(f"{self.name}: initial_state must be a list [h, c] of two (batch, {u}) arrays")
            h0, c0 = initial_state
            for s, what in ((h0, "h"), (c0, "c")):
                if tuple(s.shape) != (n, u):
                    raise ValueError(f"{self.name}: initial state {what} must have shape ({n}, {u}), got {tuple(s.shape)}")
        bias = self.bias if self.use_bias else xp.zeros(4 * u, np.float32)
        if mask is not None:
            mask = xp.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(bool)
            if tuple(mask.shape) != (n, t):
                raise ValueError(f"{self.name}: mask must have shape ({n}, {t}) (batch, timesteps), got {mask.shape}")
            if bool(mask.all()):
                mask = None
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        if mask is None:
            y, h, c = F.lstm(x, h0, c0, self.kernel, self.recurrent_kernel, bias)
        else:
            y, h, c = self._masked(x, h0, c0, bias, mask.astype(np.float32))
        out = y if self.return_sequences else (y[:, -1] if mask is not None else h)
        return (out, h, c) if self.return_state else out

    def _masked(self, x, h, c, bias, m):
        """Keras's masked RNN: a masked step keeps the state and repeats the previous output
        (zeros before the first unmasked step). One kernel call per step."""
        n, t = m.shape
        out = zeros_state(x, self.units)
        outs = []
        for s in range(t):
            _, hn, cn = F.lstm(x[:, s:s + 1], h, c, self.kernel, self.recurrent_kernel, bias)
            keep, skip = m[:, s:s + 1], 1.0 - m[:, s:s + 1]
            h = hn * keep + h * skip  # exact selection for a 0/1 mask
            c = cn * keep + c * skip
            out = hn * keep + out * skip
            outs.append(F.reshape(out, (n, 1, self.units)))
        return F.concatenate(outs, axis=1), h, c

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out, None, None] if self.return_state else out

    def compute_output_shape(self, input_shape):
        n, t = input_shape[0], input_shape[1]
        out = (n, t, self.units) if self.return_sequences else (n, self.units)
        return (out, (n, self.units), (n, self.units)) if self.return_state else out

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "recurrent_activation": self.recurrent_activation, "use_bias": self.use_bias,
                "kernel_initializer": initializer_config(self.kernel_initializer),
                "recurrent_initializer": initializer_config(self.recurrent_initializer),
                "bias_initializer": initializer_config(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll}

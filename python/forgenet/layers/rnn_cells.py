"""Recurrent cells (Keras 3): one time step, `call(inputs, states, training) -> (output, new_states)`.

`RNN(cell)` runs any of these (or a user's cell with `state_size` and `call(inputs, states)`) by a
Python loop. The weights, their names, order and shapes are Keras's, and LSTM / GRU / SimpleRNN keep
theirs in one of these cells (`layer.cell`), as Keras does, so weights files line up.

With the default activations and no recurrent dropout, a step runs on the fused whole-sequence kernel
with T = 1 (one call, differentiable); otherwise it is composed from functional ops, exactly Keras's
formulas. Recurrent dropout switches to Keras's `implementation=1`: one mask per gate, for the inputs
and for the previous state.
"""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import functional as F
from forgenet import constraints, initializers, regularizers
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.layers.base import Layer
from forgenet.layers.weight_options import weight_options
from forgenet.layers.core import check_initializers, initializer_config, positive_int
from forgenet.utils import get_rng

_FUSED_RNN_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


def activation_key(fn) -> str:
    """The Keras name of an activation (for get_config and for choosing the fused kernel)."""
    return F.activation_name(fn) if fn is not F.linear else "linear"


def get_activation(layer, arg, value):
    try:
        return F.get_activation(value)
    except ValueError as e:
        raise ValueError(f"{layer}: {arg}: {e}") from None


def check_rate(layer, arg, v) -> float:
    if not isinstance(v, numbers.Real) or isinstance(v, bool) or not 0.0 <= v <= 1.0:
        raise ValueError(f"{layer}: {arg} must be a float between 0 and 1, got {v!r}")
    return float(v)


def check_seed(layer, seed):
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise ValueError(f"{layer}: seed must be an int or None, got {seed!r}")
    return seed


def _data(a):
    return a.data if isinstance(a, Tensor) else a


class DropoutRNNCell(weight_options(kernel="kernel", recurrent="recurrent_kernel", bias="bias"), Layer):
    """What the cells share: the dropout masks, made once per sequence (Keras: the same mask at every
    step) and dropped by the RNN layer after its call (`reset_dropout_mask`)."""

    dropout_mask_count = None  # per-gate masks (implementation 1) when set

    def _init_dropout(self, dropout, recurrent_dropout, seed):
        self.dropout = check_rate(self.name, "dropout", dropout)
        self.recurrent_dropout = check_rate(self.name, "recurrent_dropout", recurrent_dropout)
        self.seed = check_seed(self.name, seed)
        self._rng = None if seed is None else np.random.default_rng(int(seed))
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def _make_mask(self, like, rate):
        rng = self._rng if self._rng is not None else get_rng()
        data = _data(like)
        xp = array_module(data)

        def one():
            keep = rng.random(tuple(data.shape), dtype=np.float32) >= rate
            return xp.asarray(keep.astype(np.float32) / np.float32(1.0 - rate))

        return one() if self.dropout_mask_count is None else [one() for _ in range(self.dropout_mask_count)]

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and 0.0 < self.dropout < 1.0:
            self._dropout_mask = self._make_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        if self._recurrent_dropout_mask is None and 0.0 < self.recurrent_dropout < 1.0:
            self._recurrent_dropout_mask = self._make_mask(step_state, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None

    def _dropout_config(self):
        return {"dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}

    def _weights_config(self):
        return {"use_bias": self.use_bias, "kernel_initializer": initializer_config(self.kernel_initializer),
                "recurrent_initializer": initializer_config(self.recurrent_initializer),
                "bias_initializer": initializer_config(self.bias_initializer),
                # Keras writes every option, None when unset
                **{f"{p}_{kind}": None if getattr(self, f"{p}_{kind}") is None else
                   mod.serialize(getattr(self, f"{p}_{kind}"))
                   for p in ("kernel", "recurrent", "bias")
                   for kind, mod in (("regularizer", regularizers), ("constraint", constraints))}}

    def _init_weights_args(self, units, use_bias, kernel_initializer, recurrent_initializer, bias_initializer):
        self.units = positive_int(self.name, "units", units)
        self.use_bias = bool(use_bias)
        check_initializers(self.name, kernel_initializer, recurrent_initializer, bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel = self.recurrent_kernel = self.bias = None

    def _input_dim(self, input_shape):
        d = input_shape[-1]
        if d is None:
            raise ValueError(f"{self.name}: the feature dimension of the input must be known, got shape "
                             f"{tuple(input_shape)}")
        return int(d)

    def _step_masks(self, inputs, h_tm1, training):
        dp = self.get_dropout_mask(inputs) if training and 0.0 < self.dropout < 1.0 else None
        rdp = self.get_recurrent_dropout_mask(h_tm1) if training and 0.0 < self.recurrent_dropout < 1.0 else None
        return dp, rdp

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [np.zeros((batch_size, s), np.float32) for s in sizes]


def _states_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _expand(x):
    """(N, D) -> (N, 1, D), one time step for the whole-sequence kernels."""
    return F.reshape(x, (x.shape[0], 1, x.shape[1]))


class SimpleRNNCell(DropoutRNNCell):
    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self._init_weights_args(units, use_bias, kernel_initializer, recurrent_initializer, bias_initializer)
        self.activation = get_activation(self.name, "activation", activation)
        self._init_dropout(dropout, recurrent_dropout, seed)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight((self._input_dim(input_shape), u), self.kernel_initializer, name="kernel")
        self.recurrent_kernel = self.add_weight((u, u), self.recurrent_initializer, name="recurrent_kernel")
        if self.use_bias:
            self.bias = self.add_weight((u,), self.bias_initializer, name="bias")
        self.built = True

    def fused_activation(self):
        """The fused kernel's name for this cell's activation, or None when it has none."""
        key = activation_key(self.activation)
        return key if key in _FUSED_RNN_ACTIVATIONS else None

    def bias_or_zeros(self, like):
        return self.bias if self.use_bias else array_module(_data(like)).zeros(self.units, np.float32)

    def call(self, inputs, states, training=False):
        prev = _states_list(states)[0]
        dp, rdp = self._step_masks(inputs, prev, training)
        if dp is not None:
            inputs = inputs * dp
        act = self.fused_activation()
        if rdp is None and act is not None:
            _, out = F.simple_rnn(_expand(inputs), prev, self.kernel, self.recurrent_kernel,
                                  self.bias_or_zeros(inputs), activation=act)
        else:
            h = F.matmul(inputs, self.kernel)
            if self.use_bias:
                h = h + self.bias
            if rdp is not None:
                prev = prev * rdp
            out = self.activation(h + F.matmul(prev, self.recurrent_kernel))
        return out, ([out] if isinstance(states, (list, tuple)) else out)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activation_key(self.activation),
                **self._weights_config(), **self._dropout_config()}


class GRUCell(DropoutRNNCell):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self._init_weights_args(units, use_bias, kernel_initializer, recurrent_initializer, bias_initializer)
        self.activation = get_activation(self.name, "activation", activation)
        self.recurrent_activation = get_activation(self.name, "recurrent_activation", recurrent_activation)
        self._init_dropout(dropout, recurrent_dropout, seed)
        self.reset_after = bool(reset_after)
        # implementation 1 (per-gate products and masks) and 2 give the same numbers; Keras switches to 1
        # for recurrent dropout, and so do we (its per-gate masks)
        self.implementation = 1 if self.recurrent_dropout else int(implementation)
        if self.implementation == 1:
            self.dropout_mask_count = 3
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight((self._input_dim(input_shape), 3 * u), self.kernel_initializer, name="kernel")
        self.recurrent_kernel = self.add_weight((u, 3 * u), self.recurrent_initializer, name="recurrent_kernel")
        if self.use_bias:
            shape = (2, 3 * u) if self.reset_after else (3 * u,)
            self.bias = self.add_weight(shape, self.bias_initializer, name="bias")
        self.built = True

    def fused(self):
        return activation_key(self.activation) == "tanh" and activation_key(self.recurrent_activation) == "sigmoid"

    def bias_or_zeros(self, like):
        if self.use_bias:
            return self.bias
        return array_module(_data(like)).zeros((2, 3 * self.units) if self.reset_after else 3 * self.units,
                                               np.float32)

    def call(self, inputs, states, training=False):
        h_tm1 = _states_list(states)[0]
        dp, rdp = self._step_masks(inputs, h_tm1, training)
        if rdp is None and not isinstance(dp, list) and self.fused():
            x = inputs if dp is None else inputs * dp
            _, h = F.gru(_expand(x), h_tm1, self.kernel, self.recurrent_kernel, self.bias_or_zeros(inputs),
                         reset_after=self.reset_after)
        else:
            h = self._composed(inputs, h_tm1, dp, rdp)
        return h, ([h] if isinstance(states, (list, tuple)) else h)

    def _composed(self, inputs, h_tm1, dp, rdp):
        u, k, rk = self.units, self.kernel, self.recurrent_kernel
        gate = lambda a, i: a[..., i * u:(i + 1) * u]  # noqa: E731
        dps = dp if isinstance(dp, list) else [dp] * 3
        rdps = rdp if isinstance(rdp, list) else [rdp] * 3
        xs = [inputs if m is None else inputs * m for m in dps]
        hs = [h_tm1 if m is None else h_tm1 * m for m in rdps]
        if self.use_bias:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        x_z, x_r, x_h = (F.matmul(xs[i], gate(k, i)) for i in range(3))
        if self.use_bias:
            x_z, x_r, x_h = x_z + gate(b_in, 0), x_r + gate(b_in, 1), x_h + gate(b_in, 2)
        r_z, r_r = F.matmul(hs[0], gate(rk, 0)), F.matmul(hs[1], gate(rk, 1))
        if self.reset_after and self.use_bias:
            r_z, r_r = r_z + gate(b_rec, 0), r_r + gate(b_rec, 1)
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        if self.reset_after:
            r_h = F.matmul(hs[2], gate(rk, 2))
            if self.use_bias:
                r_h = r_h + gate(b_rec, 2)
            r_h = r * r_h
        else:
            r_h = F.matmul(r * hs[2], gate(rk, 2))
        hh = self.activation(x_h + r_h)
        return z * h_tm1 + (1.0 - z) * hh

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activation_key(self.activation),
                "recurrent_activation": activation_key(self.recurrent_activation), **self._weights_config(),
                **self._dropout_config(), "reset_after": self.reset_after}


class LSTMCell(DropoutRNNCell):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self._init_weights_args(units, use_bias, kernel_initializer, recurrent_initializer, bias_initializer)
        self.activation = get_activation(self.name, "activation", activation)
        self.recurrent_activation = get_activation(self.name, "recurrent_activation", recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._init_dropout(dropout, recurrent_dropout, seed)
        self.implementation = 1 if self.recurrent_dropout else int(implementation)
        if self.implementation == 1:
            self.dropout_mask_count = 4
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight((self._input_dim(input_shape), 4 * u), self.kernel_initializer, name="kernel")
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

    def fused(self):
        return activation_key(self.activation) == "tanh" and activation_key(self.recurrent_activation) == "sigmoid"

    def bias_or_zeros(self, like):
        return self.bias if self.use_bias else array_module(_data(like)).zeros(4 * self.units, np.float32)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = _states_list(states)
        dp, rdp = self._step_masks(inputs, h_tm1, training)
        if rdp is None and not isinstance(dp, list) and self.fused():
            x = inputs if dp is None else inputs * dp
            _, h, c = F.lstm(_expand(x), h_tm1, c_tm1, self.kernel, self.recurrent_kernel, self.bias_or_zeros(inputs))
            return h, [h, c]
        u, k, rk = self.units, self.kernel, self.recurrent_kernel
        gate = lambda a, i: a[..., i * u:(i + 1) * u]  # noqa: E731
        dps = dp if isinstance(dp, list) else [dp] * 4
        rdps = rdp if isinstance(rdp, list) else [rdp] * 4
        zs = []
        for i in range(4):
            x = inputs if dps[i] is None else inputs * dps[i]
            h = h_tm1 if rdps[i] is None else h_tm1 * rdps[i]
            z = F.matmul(x, gate(k, i)) + F.matmul(h, gate(rk, i))
            zs.append(z + gate(self.bias, i) if self.use_bias else z)
        i_, f_ = self.recurrent_activation(zs[0]), self.recurrent_activation(zs[1])
        c = f_ * c_tm1 + i_ * self.activation(zs[2])
        h = self.recurrent_activation(zs[3]) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activation_key(self.activation),
                "recurrent_activation": activation_key(self.recurrent_activation), **self._weights_config(),
                "unit_forget_bias": self.unit_forget_bias, **self._dropout_config()}

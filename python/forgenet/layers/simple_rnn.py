"""SimpleRNN (Keras 3): kernel (input_dim, units), recurrent_kernel (units, units), bias (units,), held
by its SimpleRNNCell (`layer.cell`). With activation tanh, relu, sigmoid or linear the whole sequence
runs as one fused C++ call forward and one backward (functional.simple_rnn); other activations, masks
and training with recurrent dropout take the per-step loop (layers/recurrent.py)."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.layers.recurrent import FusedRNN
from forgenet.layers.rnn_cells import SimpleRNNCell


class SimpleRNN(FusedRNN):
    cell_class = SimpleRNNCell
    _state_names = ["h"]

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, **kwargs):
        super().__init__(units, activity_regularizer=activity_regularizer,
                         activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("seed")  # Keras's SimpleRNN leaves its cell's seed out of its config
        return cfg

    def _fused_available(self):
        return self.cell.fused_activation() is not None

    def _fused(self, x, states):
        c = self.cell
        y, h = F.simple_rnn(x, states[0], c.kernel, c.recurrent_kernel, c.bias_or_zeros(x),
                            activation=c.fused_activation())
        return y, [h]

"""GRU (Keras 3): kernel (input_dim, 3*units), recurrent_kernel (units, 3*units), gates z, r, h; bias
(2, 3*units) with reset_after=True (the default: [input bias; recurrent bias]) or (3*units,) without,
held by its GRUCell (`layer.cell`) as in Keras. The whole sequence runs as one fused C++ call forward
and one backward through time (functional.gru); masks, training with recurrent dropout and
non-default activations take the per-step loop (layers/recurrent.py)."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.layers.recurrent import FusedRNN
from forgenet.layers.rnn_cells import GRUCell


class GRU(FusedRNN):
    cell_class = GRUCell
    _state_names = ["h"]

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        super().__init__(units, activity_regularizer=activity_regularizer,
                         activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, reset_after=reset_after,
                         use_cudnn=use_cudnn, implementation=kwargs.pop("implementation", 2), **kwargs)

    def _fused_available(self):
        return self.cell.fused()

    def _fused(self, x, states):
        c = self.cell
        y, h = F.gru(x, states[0], c.kernel, c.recurrent_kernel, c.bias_or_zeros(x), reset_after=c.reset_after)
        return y, [h]

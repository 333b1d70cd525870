"""LSTM (Keras 3): kernel (input_dim, 4*units), recurrent_kernel (units, 4*units), bias (4*units,),
gates in the order i, f, c, o, held by its LSTMCell (`layer.cell`) as in Keras. The whole sequence
runs as one fused C++ call forward and one backward through time (functional.lstm); masks, training
with recurrent dropout and non-default activations take the per-step loop (layers/recurrent.py)."""
from __future__ import annotations

from forgenet import functional as F
from forgenet.layers.recurrent import FusedRNN
from forgenet.layers.rnn_cells import LSTMCell


class LSTM(FusedRNN):
    cell_class = LSTMCell
    _state_names = ["h", "c"]

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        super().__init__(units, activity_regularizer=activity_regularizer,
                         activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         use_cudnn=use_cudnn, implementation=kwargs.pop("implementation", 2), **kwargs)

    def _fused_available(self):
        return self.cell.fused()

    def _fused(self, x, states):
        c = self.cell
        y, h, cT = F.lstm(x, states[0], states[1], c.kernel, c.recurrent_kernel, c.bias_or_zeros(x))
        return y, [h, cT]

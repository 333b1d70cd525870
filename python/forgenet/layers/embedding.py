"""Embedding (Keras 3): integer ids -> rows of `embeddings` (input_dim, output_dim)."""
from __future__ import annotations

import warnings

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Tensor
from forgenet.layers.base import Layer
from forgenet.layers.weight_options import weight_options
from forgenet.layers.core import check_initializers, initializer_config, positive_int

_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}  # Keras's short names


class Embedding(weight_options(embeddings="embeddings"), Layer):
    input_dtype = None  # ids stay integers

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
                 input_length=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = positive_int(self.name, "input_dim", input_dim)
        self.output_dim = positive_int(self.name, "output_dim", output_dim)
        init = _ALIASES.get(embeddings_initializer, embeddings_initializer)
        check_initializers(self.name, init)
        self.embeddings_initializer = init
        self.mask_zero = bool(mask_zero)
        if input_length is not None:  # Keras 3 ignores it too
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        self.embeddings = None

    def build(self, input_shape=None):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer,
                                          name="embeddings")
        self.built = True

    def call(self, inputs):
        ids = inputs.data if isinstance(inputs, Tensor) else inputs
        if not hasattr(ids, "dtype"):
            ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":  # Keras casts float ids (e.g. from a float32 x) to int
            ids = ids.astype(np.int64)
        return F.embedding(ids, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        """ids != 0 when mask_zero (for a following LSTM's `mask=`), else None."""
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else inputs
        return ids != 0

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializer_config(self.embeddings_initializer),
                "mask_zero": self.mask_zero}

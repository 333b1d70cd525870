"""Learned position embeddings, as keras_hub (formerly keras_nlp) names them.

- `PositionEmbedding(sequence_length)`: a trainable (sequence_length, features) table; called on a
  (batch, sequence, features) input it returns the rows for positions start_index..start_index+sequence,
  broadcast to the input's shape. The caller adds them (`x + PositionEmbedding(n)(x)`), as in keras_hub.
- `TokenAndPositionEmbedding(vocabulary_size, sequence_length, embedding_dim)`: integer ids ->
  token embedding + position embedding, summed; the usual first layer of a GPT-style model.
- `PositionalEmbedding(sequence_length, input_dim, output_dim)`: the same sum under the argument
  names of the keras.io Transformer guides, masking id 0 as they do.

Both accept sequences shorter than `sequence_length` (generation feeds a growing prefix). The weight
layouts match keras_hub's: PositionEmbedding holds `embeddings` (sequence_length, features);
TokenAndPositionEmbedding holds its token Embedding's table, then its PositionEmbedding's.
"""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module
from forgenet.layers.base import Layer
from forgenet.layers.core import check_initializers, initializer_config, positive_int
from forgenet.layers.embedding import _ALIASES, Embedding


def _data(x):
    return x.data if isinstance(x, Tensor) else x


class PositionEmbedding(Layer):
    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = positive_int(self.name, "sequence_length", sequence_length)
        initializer = _ALIASES.get(initializer, initializer)
        check_initializers(self.name, initializer)
        self.initializer = initializer
        self.position_embeddings = None

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: expected input of shape (batch, sequence, features), got "
                             f"{tuple(input_shape)}")
        self.position_embeddings = self.add_weight((self.sequence_length, input_shape[-1]), self.initializer,
                                                   name="embeddings")
        self.built = True

    def positions(self, length: int, start_index: int = 0) -> Tensor:
        """Rows start_index .. start_index + length of the table, shape (length, features)."""
        start_index = int(_data(start_index))
        if start_index < 0 or start_index + length > self.sequence_length:
            raise ValueError(f"{self.name}: positions {start_index}..{start_index + length - 1} are out of range for "
                             f"sequence_length={self.sequence_length}")
        if start_index == 0 and length == self.sequence_length:
            return self.position_embeddings
        return self.position_embeddings[start_index:start_index + length]

    def call(self, inputs, start_index=0):
        shape = tuple(inputs.shape)
        features = self.position_embeddings.shape[-1]
        if len(shape) < 2 or shape[-1] != features:
            raise ValueError(f"{self.name}: expected input of shape (batch, sequence, {features}), got {shape}")
        pos = self.positions(shape[-2], start_index)
        # broadcast to the input's shape (keras_hub returns the embeddings, not their sum with the input)
        return pos + array_module(_data(inputs)).zeros(shape, np.float32)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length,
                "initializer": initializer_config(self.initializer)}


class TokenAndPositionEmbedding(Layer):
    input_dtype = None  # ids stay integers

    def __init__(self, vocabulary_size, sequence_length, embedding_dim, tie_weights=None,
                 embeddings_initializer="uniform", mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        if tie_weights is not None:  # keras_hub's reversible (tied) embedding is not supported
            raise ValueError(f"{self.name}: tie_weights is not supported by forgenet, got {tie_weights!r}")
        self.vocabulary_size = positive_int(self.name, "vocabulary_size", vocabulary_size)
        self.sequence_length = positive_int(self.name, "sequence_length", sequence_length)
        self.embedding_dim = positive_int(self.name, "embedding_dim", embedding_dim)
        embeddings_initializer = _ALIASES.get(embeddings_initializer, embeddings_initializer)
        check_initializers(self.name, embeddings_initializer)
        self.embeddings_initializer = embeddings_initializer
        self.mask_zero = bool(mask_zero)
        self.token_embedding = Embedding(self.vocabulary_size, self.embedding_dim,
                                         embeddings_initializer=embeddings_initializer, mask_zero=mask_zero,
                                         name=f"{self.name}_token_embedding")
        # keras_hub initialises both tables with embeddings_initializer
        self.position_embedding = PositionEmbedding(self.sequence_length, initializer=embeddings_initializer,
                                                    name=f"{self.name}_position_embedding")

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        self.token_embedding.built = True
        self.position_embedding.build((None, self.sequence_length, self.embedding_dim))
        self.built = True

    def call(self, inputs, start_index=0):
        ids = _data(inputs)
        if not hasattr(ids, "ndim"):
            ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"{self.name}: expected integer ids of shape (batch, sequence), got {tuple(ids.shape)}")
        if ids.shape[1] > self.sequence_length:
            raise ValueError(f"{self.name}: sequences of length {ids.shape[1]} are longer than "
                             f"sequence_length={self.sequence_length}")
        tokens = self.token_embedding.call(ids)
        return tokens + self.position_embedding.positions(ids.shape[1], start_index)

    def compute_mask(self, inputs, mask=None):
        return self.token_embedding.compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "embedding_dim": self.embedding_dim,
                "embeddings_initializer": initializer_config(self.embeddings_initializer),
                "mask_zero": self.mask_zero}


class PositionalEmbedding(TokenAndPositionEmbedding):
    """`PositionalEmbedding(sequence_length, input_dim, output_dim)`: the layer of the keras.io Transformer
    guides (English-to-Spanish translation, Deep Learning with Python): token + learned position
    embedding, summed, with a padding mask on id 0. The same computation as TokenAndPositionEmbedding
    under the guide's argument names."""

    def __init__(self, sequence_length, input_dim, output_dim, **kwargs):
        kwargs.setdefault("mask_zero", True)  # the guide's compute_mask: ids != 0
        super().__init__(input_dim, sequence_length, output_dim, **kwargs)
        self.input_dim, self.output_dim = self.vocabulary_size, self.embedding_dim

    def get_config(self):
        cfg = super().get_config()
        for k in ("vocabulary_size", "embedding_dim"):
            del cfg[k]
        return {**cfg, "input_dim": self.input_dim, "output_dim": self.output_dim}

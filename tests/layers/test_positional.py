"""PositionEmbedding and TokenAndPositionEmbedding (keras_hub names): forward vs numpy, gradients vs
finite differences, shorter sequences and start_index, configs and errors."""
import json

import numpy as np
import pytest

from forgenet import layers
from forgenet.autograd import Tensor, Variable

from support import assert_close, numeric_grad

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}  # Keras's dtype policy, as get_config writes it


def test_position_embedding_forward(rng):
    layer = layers.PositionEmbedding(7)
    x = rng.standard_normal((3, 7, 5)).astype(np.float32)
    out = layer(x)
    (table,) = layer.get_weights()
    assert table.shape == (7, 5) and layer.weights[0].name.endswith("/embeddings")
    assert_close(out, np.broadcast_to(table, (3, 7, 5)))
    # a shorter sequence takes the first rows; start_index shifts them (generation with a cache)
    assert_close(layer(x[:, :4]), np.broadcast_to(table[:4], (3, 4, 5)))
    assert_close(layer(x[:, :3], start_index=2), np.broadcast_to(table[2:5], (3, 3, 5)))


def test_token_and_position_embedding_forward(rng):
    layer = layers.TokenAndPositionEmbedding(11, 6, 4)
    ids = rng.integers(0, 11, (2, 6))
    out = layer(ids)
    tokens, positions = layer.get_weights()
    assert tokens.shape == (11, 4) and positions.shape == (6, 4)
    assert_close(out, tokens[ids].astype(np.float64) + positions)
    assert_close(layer(ids[:, :3]), tokens[ids[:, :3]].astype(np.float64) + positions[:3])
    # float ids (a model's float32 x) are cast to ints, as Keras's Embedding does
    assert_close(layer(ids.astype(np.float32)), out)


def test_token_and_position_embedding_gradients(rng):
    layer = layers.TokenAndPositionEmbedding(5, 4, 3)
    ids = np.array([[0, 3, 3, 1], [4, 0, 2, 3]])  # repeated ids must accumulate
    layer(ids)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    g = rng.standard_normal((2, 3, 3))  # a shorter sequence: position rows 3.. get no gradient
    (layer(Tensor(ids[:, :3])) * Tensor(g.astype(np.float32))).sum().backward()
    tokens, positions = (w.data.astype(np.float64) for w in layer.weights)

    def f():
        return float(((tokens[ids[:, :3]] + positions[:3]) * g).sum())

    assert_close(layer.weights[0].grad, numeric_grad(f, tokens, 1e-6), rtol=1e-4, atol=1e-5, what="tokens")
    assert_close(layer.weights[1].grad, numeric_grad(f, positions, 1e-6), rtol=1e-4, atol=1e-5, what="positions")
    assert not layer.weights[1].grad[3].any()


def test_position_embedding_gradients(rng):
    layer = layers.PositionEmbedding(5)
    x = Variable(rng.standard_normal((2, 4, 3)).astype(np.float32))
    g = rng.standard_normal((2, 4, 3))
    (x + layer(x, start_index=1)) .__mul__(Tensor(g.astype(np.float32))).sum().backward()
    table = layer.weights[0].data.astype(np.float64)
    x64 = x.data.astype(np.float64)

    def f():
        return float(((x64 + table[1:5]) * g).sum())

    assert_close(layer.weights[0].grad, numeric_grad(f, table, 1e-6), rtol=1e-4, atol=1e-5)
    assert_close(x.grad, numeric_grad(f, x64, 1e-6), rtol=1e-4, atol=1e-5)


def test_configs_round_trip():
    layer = layers.TokenAndPositionEmbedding(50, 16, 8, embeddings_initializer="glorot_uniform", name="tp")
    cfg = json.loads(json.dumps(layer.get_config()))
    assert cfg["vocabulary_size"] == 50 and cfg["sequence_length"] == 16 and cfg["embedding_dim"] == 8
    again = layers.TokenAndPositionEmbedding.from_config(cfg)
    assert (again.vocabulary_size, again.sequence_length, again.embedding_dim, again.embeddings_initializer) == \
        (50, 16, 8, "glorot_uniform")
    assert again.compute_output_shape((2, 16)) == (2, 16, 8)
    pe = layers.PositionEmbedding(9, initializer="zeros", name="pe")
    cfg = json.loads(json.dumps(pe.get_config()))
    assert cfg == {"name": "pe", "trainable": True, "dtype": DTYPE, "sequence_length": 9,
                   "initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}}
    assert not layers.PositionEmbedding.from_config(cfg)(np.ones((1, 9, 2), np.float32)).any()


def test_errors():
    with pytest.raises(ValueError, match="pe: sequence_length must be a positive integer, got 0"):
        layers.PositionEmbedding(0, name="pe")
    with pytest.raises(ValueError, match="tp: embedding_dim must be a positive integer, got -2"):
        layers.TokenAndPositionEmbedding(10, 4, -2, name="tp")
    with pytest.raises(ValueError, match="tie_weights is not supported"):
        layers.TokenAndPositionEmbedding(10, 4, 2, tie_weights=True)
    pe = layers.PositionEmbedding(4, name="pe2")
    with pytest.raises(ValueError, match=r"pe2: expected input of shape \(batch, sequence, features\), got \(4,\)"):
        pe(np.ones(4, np.float32))
    pe(np.ones((1, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"pe2: positions 0..4 are out of range for sequence_length=4"):
        pe(np.ones((1, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"pe2: positions 2..4 are out of range"):
        pe(np.ones((1, 3, 3), np.float32), start_index=2)
    with pytest.raises(ValueError, match=r"pe2: expected input of shape \(batch, sequence, 3\), got \(1, 4, 2\)"):
        pe(np.ones((1, 4, 2), np.float32))
    tp = layers.TokenAndPositionEmbedding(10, 4, 2, name="tp2")
    with pytest.raises(ValueError, match=r"tp2: sequences of length 6 are longer than sequence_length=4"):
        tp(np.zeros((1, 6), np.int64))
    with pytest.raises(ValueError, match=r"tp2: expected integer ids of shape \(batch, sequence\), got \(4,\)"):
        tp(np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="out of range|must be in"):
        tp(np.array([[0, 1, 10]]))


def test_positional_embedding_guide_names(rng):
    # the keras.io guides' PositionalEmbedding(sequence_length, input_dim, output_dim)
    layer = layers.PositionalEmbedding(6, 9, 4, name="pos")
    ids = np.array([[3, 0, 8, 1], [0, 0, 2, 5]])
    out = layer(ids)
    tokens, positions = layer.get_weights()
    assert tokens.shape == (9, 4) and positions.shape == (6, 4)
    assert_close(out, tokens[ids].astype(np.float64) + positions[:4])
    assert np.array_equal(layer.compute_mask(ids), ids != 0)
    cfg = json.loads(json.dumps(layer.get_config()))
    assert (cfg["sequence_length"], cfg["input_dim"], cfg["output_dim"]) == (6, 9, 4)
    assert "vocabulary_size" not in cfg
    again = layers.PositionalEmbedding.from_config(cfg)
    assert (again.sequence_length, again.input_dim, again.output_dim, again.mask_zero) == (6, 9, 4, True)

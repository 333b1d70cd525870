"""LSTM and Embedding layers: Keras 3 (torch backend) as the reference for outputs and gradients,
with Keras's weights copied over by get_weights/set_weights."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # must precede the import; torch CPU is the reference peer

import numpy as np
import pytest

from forgenet import layers
from forgenet.autograd import Tensor

from support import assert_close

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def as_list(o):
    return list(o) if isinstance(o, (list, tuple)) else [o]


def keras_pair(units, x, **kw):
    """A Keras LSTM with a non-trivial bias and ours carrying its weights."""
    k = layers_k = keras.layers.LSTM(units, bias_initializer="random_normal", **kw)
    k(x)
    f = layers.LSTM(units, **kw)
    f(x)
    f.set_weights(layers_k.get_weights())
    return k, f


def keras_grads(klayer, x, ws, mask=None):
    """Outputs of klayer on x, and d(sum_i outputs_i * ws_i)/d(x, kernel, recurrent_kernel, bias)."""
    tx = torch.tensor(x, requires_grad=True)
    outs = as_list(klayer(tx, mask=None if mask is None else torch.tensor(mask)))
    loss = sum((o * torch.tensor(w)).sum() for o, w in zip(outs, ws))
    params = [klayer.cell.kernel.value, klayer.cell.recurrent_kernel.value, klayer.cell.bias.value]
    grads = torch.autograd.grad(loss, [tx] + params)
    return [o.detach().numpy() for o in outs], [g.numpy() for g in grads]


def our_grads(flayer, x, ws, mask=None):
    tx = Tensor(x, requires_grad=True)
    outs = as_list(flayer(tx, mask=mask, training=True))
    loss = None
    for o, w in zip(outs, ws):
        term = (o * w).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    return [o.data for o in outs], [tx.grad] + [w.grad for w in flayer.weights]


CONFIGS = [{}, {"return_sequences": True}, {"return_state": True},
           {"return_sequences": True, "return_state": True, "go_backwards": True}]


@pytest.mark.parametrize("kw", CONFIGS)
@pytest.mark.parametrize("shape,units", [((3, 5, 4), 6), ((1, 1, 3), 7), ((2, 7, 9), 33)])
def test_lstm_matches_keras_outputs_and_gradients(rng, kw, shape, units):
    x = rng.standard_normal(shape).astype(np.float32)
    k, f = keras_pair(units, x, **kw)
    outs_k = as_list(k(x))
    outs_f = as_list(f(x))  # eager call on arrays
    assert len(outs_k) == len(outs_f)
    for a, b in zip(outs_k, outs_f):
        assert_close(b, keras.ops.convert_to_numpy(a), rtol=1e-4, atol=1e-5)
    ws = [rng.standard_normal(o.shape).astype(np.float32) for o in outs_f]
    ko, kg = keras_grads(k, x, ws)
    fo, fg = our_grads(f, x, ws)
    for name, a, b in zip(["dx", "dkernel", "drecurrent_kernel", "dbias"], fg, kg):
        assert_close(a, b, rtol=1e-4, atol=1e-5, what=name)


@pytest.mark.parametrize("kw", [{"return_sequences": True, "return_state": True},
                                {"return_sequences": True, "go_backwards": True}, {}])
def test_masked_lstm_matches_keras(rng, kw):
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    mask = np.ones((4, 6), bool)
    mask[0, 4:] = False   # post-padding
    mask[1, :2] = False   # pre-padding
    mask[2, 3] = False    # a hole
    mask[3, :] = False    # nothing at all
    k, f = keras_pair(5, x, **kw)
    ws = [rng.standard_normal(o.shape).astype(np.float32) for o in as_list(f(x))]
    ko, kg = keras_grads(k, x, ws, mask)
    fo, fg = our_grads(f, x, ws, mask)
    for a, b in zip(fo, ko):
        assert_close(a, b, rtol=1e-4, atol=1e-5, what="output")
    for name, a, b in zip(["dx", "dkernel", "drecurrent_kernel", "dbias"], fg, kg):
        assert_close(a, b, rtol=1e-4, atol=1e-5, what=name)


def test_initial_state_is_differentiable(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    h0, c0 = (Tensor(rng.standard_normal((2, 5)).astype(np.float32), requires_grad=True) for _ in range(2))
    k, f = keras_pair(5, x, return_sequences=True)
    th0, tc0 = (torch.tensor(t.data, requires_grad=True) for t in (h0, c0))
    ky = k(torch.tensor(x), initial_state=[th0, tc0])
    w = rng.standard_normal(ky.shape).astype(np.float32)
    (ky * torch.tensor(w)).sum().backward()
    fy = f(Tensor(x), initial_state=[h0, c0])
    (fy * w).sum().backward()
    assert_close(fy.data, ky.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert_close(h0.grad, th0.grad.numpy(), rtol=1e-4, atol=1e-5, what="dh0")
    assert_close(c0.grad, tc0.grad.numpy(), rtol=1e-4, atol=1e-5, what="dc0")


def test_weights_layout_and_initialisation():
    f = layers.LSTM(4)
    f(np.zeros((2, 3, 5), np.float32))
    k = keras.layers.LSTM(4)
    k(np.zeros((2, 3, 5), np.float32))
    assert [w.shape for w in f.get_weights()] == [w.shape for w in k.get_weights()]
    assert [w.name.split("/")[-1] for w in f.weights] == ["kernel", "recurrent_kernel", "bias"]
    kernel, rec, bias = f.get_weights()
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])  # unit_forget_bias
    np.testing.assert_allclose(rec @ rec.T, np.eye(4), atol=1e-5)  # orthogonal rows
    assert np.abs(kernel).max() <= np.sqrt(6 / (5 + 16)) + 1e-6  # glorot_uniform limit
    assert layers.LSTM(4, use_bias=False, name="nb")(np.zeros((1, 2, 3), np.float32)).shape == (1, 4)
    assert set(f.get_config()) - {"input_shape"} <= set(k.get_config())


def test_dropout_masks_features_for_every_step(rng):
    x = Tensor(rng.standard_normal((3, 6, 8)).astype(np.float32), requires_grad=True)
    f = layers.LSTM(5, dropout=0.5, seed=1, return_sequences=True)
    y = f(x, training=True)
    (y * 1.0).sum().backward()
    dropped = np.all(x.grad == 0, axis=1)  # (batch, features) zero at every step
    assert dropped.any() and not dropped.all()
    np.testing.assert_array_equal(x.grad == 0, np.broadcast_to(dropped[:, None], x.grad.shape))
    plain = layers.LSTM(5, return_sequences=True)
    plain(x.data)
    plain.set_weights(f.get_weights())
    np.testing.assert_array_equal(f(x.data), plain(x.data))  # inference: no dropout


def test_embedding_matches_keras_and_masks(rng):
    ids = rng.integers(0, 10, (3, 7))
    ids[0, 5:] = 0
    k = keras.layers.Embedding(10, 4, mask_zero=True)
    ky = keras.ops.convert_to_numpy(k(ids))
    f = layers.Embedding(10, 4, mask_zero=True)
    f(ids)
    f.set_weights(k.get_weights())
    np.testing.assert_array_equal(f(ids), ky)
    np.testing.assert_array_equal(f.compute_mask(ids), ids != 0)
    assert layers.Embedding(10, 4).compute_mask(ids) is None
    np.testing.assert_array_equal(f(ids.astype(np.float32)), ky)  # float ids are cast, as in Keras
    assert set(f.get_config()) - {"input_shape"} <= set(k.get_config())
    w = f.get_weights()[0]
    assert w.shape == (10, 4) and np.abs(w).max() <= 0.05  # Keras's 'uniform' initializer


def test_embedding_lstm_stack_trains_through_autograd(rng):
    ids = rng.integers(1, 20, (4, 6))
    ids[:2, 4:] = 0
    emb, lstm = layers.Embedding(20, 8, mask_zero=True), layers.LSTM(5)
    e = emb(Tensor(ids))
    h = lstm(e, mask=emb.compute_mask(ids))
    (h * h).sum().backward()
    g = emb.embeddings.grad
    assert g.shape == (20, 8)
    used = np.unique(ids[ids != 0])
    assert np.abs(g[used]).sum(1).min() > 0  # every id that reached the LSTM got a gradient
    assert not g[0].any() and not np.delete(g, np.r_[0, used], axis=0).any()
    assert all(w.grad is not None for w in lstm.weights)


def test_embedding_out_of_range_and_bad_args():
    f = layers.Embedding(5, 2)
    with pytest.raises(ValueError, match=r"embedding: ids must be in \[0, 5\), got 5"):
        f(np.array([[1, 5]]))
    with pytest.raises(ValueError, match="input_dim must be a positive integer, got 0"):
        layers.Embedding(0, 3)
    with pytest.warns(UserWarning, match="input_length is deprecated|`input_length` is deprecated"):
        layers.Embedding(5, 2, input_length=7)


def test_lstm_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="units must be a positive integer, got 0"):
        layers.LSTM(0)
    # other activations and recurrent_dropout run the per-step loop (tests/layers/test_recurrent.py)
    with pytest.raises(ValueError, match="activation: Unknown activation 'nope'"):
        layers.LSTM(3, activation="nope")
    with pytest.raises(ValueError, match="dropout must be a float between 0 and 1, got 2"):
        layers.LSTM(3, dropout=2)
    f = layers.LSTM(3, name="rnn")
    with pytest.raises(ValueError, match=r"rnn: expected input of rank 3 \(batch, timesteps, features\), got shape \(2, 4\)"):
        f(np.zeros((2, 4), np.float32))
    f(np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"rnn: expected input with 5 features \(last axis\), got shape \(2, 4, 6\)"):
        f(np.zeros((2, 4, 6), np.float32))
    with pytest.raises(ValueError, match=r"rnn: initial state h must have shape \(2, 3\), got \(2, 4\)"):
        f(np.zeros((2, 4, 5), np.float32), initial_state=[np.zeros((2, 4), np.float32), np.zeros((2, 3), np.float32)])
    with pytest.raises(ValueError, match=r"rnn: mask must have shape \(2, 4\) \(batch, timesteps\), got \(2, 3\)"):
        f(np.zeros((2, 4, 5), np.float32), mask=np.ones((2, 3), bool))


def test_lstm_weights_are_c_order_whatever_their_source():
    # the orthogonal initializer's Q.T and a transposed set_weights value are F order; a weight kept so
    # would be copied on every kernel call and would put Adam on its slower unfused path
    f = layers.LSTM(8)
    f(np.zeros((2, 3, 5), np.float32))
    assert all(w.data.flags.c_contiguous for w in f.weights)
    kernel, rec, bias = f.get_weights()
    f.set_weights([kernel, np.asfortranarray(rec), bias])
    assert f.weights[1].data.flags.c_contiguous
    np.testing.assert_array_equal(f.weights[1].data, rec)

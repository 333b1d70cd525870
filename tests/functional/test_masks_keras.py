"""Masks travel with tensors, as in Keras: Embedding(mask_zero=True)'s mask reaches LSTM and
MultiHeadAttention in functional and subclassed models (not only in Sequential), merge layers
combine masks as Keras does, and the model's output Tensor carries its mask (`_keras_mask`)."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

import forgenet  # noqa: E402
from forgenet.autograd import Tensor  # noqa: E402

from support import assert_close  # noqa: E402


def padded_ids(rng, n=4, t=7, vocab=12):
    ids = rng.integers(1, vocab, size=(n, t)).astype(np.int64)
    ids[0, 4:] = 0
    ids[1, 2:] = 0
    ids[2, :3] = 0  # leading padding too
    return ids


def copy_weights(km, fm):
    assert [w.shape for w in fm.weights] == [tuple(w.shape) for w in km.weights]
    fm.set_weights(km.get_weights())


def knp(x):
    return keras.ops.convert_to_numpy(x)


def text_graph(L):
    ids = L.Input((None,), dtype="int32", name="ids")
    x = L.layers.Embedding(12, 6, mask_zero=True)(ids)
    x = L.layers.LSTM(5, return_sequences=True)(x)
    a = L.layers.MultiHeadAttention(num_heads=2, key_dim=3)(x, x)
    x = L.layers.LSTM(4)(a)
    return L.Model(ids, L.layers.Dense(3)(x))


def test_mask_reaches_lstm_and_attention_in_a_functional_model(rng):
    keras.utils.set_random_seed(1)
    km, fm = text_graph(keras), text_graph(forgenet)
    copy_weights(km, fm)
    ids = padded_ids(rng)
    want = knp(km(ids))
    assert_close(fm.predict(ids, verbose=0), want, rtol=1e-4, atol=1e-5, what="masked graph")
    # without the mask the padded rows would differ: the mask really is used
    keras.utils.set_random_seed(1)
    unmasked = text_graph(forgenet)
    unmasked.layers[1].mask_zero = False
    unmasked.set_weights(km.get_weights())
    assert np.abs(unmasked.predict(ids, verbose=0) - want)[:3].max() > 1e-4


def test_symbolic_tensors_carry_masks():
    ids = forgenet.Input((None,), dtype="int32")
    emb = forgenet.layers.Embedding(5, 3, mask_zero=True)(ids)
    assert emb._keras_mask is not None and emb._keras_mask.shape == (None, None)
    seq = forgenet.layers.LSTM(2, return_sequences=True)(emb)
    assert seq._keras_mask is not None
    last = forgenet.layers.LSTM(2)(emb)
    assert last._keras_mask is None


class KText(keras.Model):
    def __init__(self):
        super().__init__()
        self.emb = keras.layers.Embedding(12, 6, mask_zero=True)
        self.rnn = keras.layers.LSTM(5, return_sequences=True)
        self.att = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
        self.out = keras.layers.LSTM(3)

    def call(self, ids):
        x = self.rnn(self.emb(ids))
        return self.out(self.att(x, x))


class FText(forgenet.Model):
    def __init__(self):
        super().__init__()
        self.emb = forgenet.layers.Embedding(12, 6, mask_zero=True)
        self.rnn = forgenet.layers.LSTM(5, return_sequences=True)
        self.att = forgenet.layers.MultiHeadAttention(num_heads=2, key_dim=3)
        self.out = forgenet.layers.LSTM(3)

    def call(self, ids):
        x = self.rnn(self.emb(ids))
        return self.out(self.att(x, x))


def test_mask_through_a_subclassed_model_matches_keras(rng):
    ids = padded_ids(rng)
    keras.utils.set_random_seed(2)
    km, fm = KText(), FText()
    want = knp(km(ids))
    fm(ids)  # builds
    copy_weights(km, fm)
    assert_close(fm(ids), want, rtol=1e-4, atol=1e-5, what="subclassed masked model")
    # in training (Tensors), too
    out = fm(Tensor(ids), training=True)
    assert_close(out.numpy(), want, rtol=1e-4, atol=1e-5, what="subclassed, training")


def test_output_tensor_carries_the_mask_for_losses(rng):
    """The trainer reads y_pred._keras_mask to weight the loss (Keras's masked losses)."""
    ids = padded_ids(rng)
    model = forgenet.Sequential([forgenet.Input((None,), dtype="int32"),
                                 forgenet.layers.Embedding(12, 4, mask_zero=True),
                                 forgenet.layers.LSTM(3, return_sequences=True), forgenet.layers.Dense(2)])
    y = model(Tensor(ids), training=True)
    assert isinstance(y, Tensor) and y._keras_mask is not None
    np.testing.assert_array_equal(y._keras_mask, ids != 0)
    assert forgenet.autograd.tensor.get_keras_mask(y) is y._keras_mask
    keras.utils.set_random_seed(3)
    km = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(12, 4, mask_zero=True),
                           keras.layers.LSTM(3, return_sequences=True), keras.layers.Dense(2)])
    ky = km(ids)
    np.testing.assert_array_equal(knp(ky._keras_mask), y._keras_mask)


@pytest.mark.parametrize("merge,kw", [("Concatenate", {"axis": 1}), ("Concatenate", {"axis": -1}),
                                      ("Add", {}), ("Multiply", {}), ("Maximum", {}), ("Minimum", {})])
def test_merge_layers_combine_masks_like_keras(rng, merge, kw):
    ids_a = padded_ids(rng, t=5)
    ids_b = padded_ids(rng, t=5)
    ids_b[3, 1:] = 0

    def build(L):
        a, b = L.Input((5,), dtype="int32"), L.Input((5,), dtype="int32")
        ea = L.layers.Embedding(12, 4, mask_zero=True)(a)
        eb = L.layers.Embedding(12, 4, mask_zero=True)(b)
        m = getattr(L.layers, merge)(**kw)([ea, eb])
        return L.Model([a, b], L.layers.LSTM(3)(m))

    keras.utils.set_random_seed(4)
    km, fm = build(keras), build(forgenet)
    copy_weights(km, fm)
    want = knp(km([ids_a, ids_b]))
    assert_close(fm([ids_a, ids_b]), want, rtol=1e-4, atol=1e-5, what=f"{merge} masks")
    ka = keras.layers.Embedding(12, 4, mask_zero=True)
    kb = keras.layers.Embedding(12, 4, mask_zero=True)
    kout = getattr(keras.layers, merge)(**kw)([ka(ids_a), kb(ids_b)])
    fa = forgenet.layers.Embedding(12, 4, mask_zero=True)
    fb = forgenet.layers.Embedding(12, 4, mask_zero=True)
    fa(ids_a), fb(ids_b)
    fa.set_weights(ka.get_weights())
    fb.set_weights(kb.get_weights())
    fout = getattr(forgenet.layers, merge)(**kw)([fa(Tensor(ids_a)), fb(Tensor(ids_b))])
    assert_close(fout.numpy(), knp(kout), rtol=1e-5, atol=1e-6, what=f"{merge} values")
    np.testing.assert_array_equal(fout._keras_mask, knp(kout._keras_mask))


def test_explicit_mask_argument_and_layers_that_end_masks(rng):
    ids = padded_ids(rng)
    emb = forgenet.layers.Embedding(12, 4, mask_zero=True)
    x = emb(Tensor(ids))
    flat = forgenet.layers.Flatten()
    with pytest.warns(UserWarning, match="does not support masking"):
        y = flat(x)
    assert y._keras_mask is None
    dense = forgenet.layers.Dense(3)(x)
    np.testing.assert_array_equal(dense._keras_mask, ids != 0)  # Dense passes it on
    lstm = forgenet.layers.LSTM(2)
    full = lstm(x, mask=np.ones(ids.shape, bool))  # an explicit mask wins over the attached one
    assert_close(full.numpy(), lstm(Tensor(emb(ids))).numpy(), rtol=1e-6, atol=1e-6)


class MaskedMean(forgenet.layers.Layer):
    """A user's pooling layer: the mean over unmasked steps (Keras's GlobalAveragePooling1D with a mask)."""

    def call(self, x, mask=None):
        if mask is None:
            return forgenet.functional.mean(x, axis=1)
        m = np.asarray(mask, np.float32)[:, :, None]
        return forgenet.functional.sum(x * m, axis=1) / m.sum(axis=1)


# Model.build probes a subclassed model with zero ids first: all steps masked, 0/0 in MaskedMean
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_mask_reaches_a_pooling_layer_in_functional_and_subclassed_models(rng):
    ids = padded_ids(rng)

    def build(L, pool):
        i = L.Input((None,), dtype="int32")
        return L.Model(i, L.layers.Dense(2)(pool(L.layers.Embedding(12, 4, mask_zero=True)(i))))

    keras.utils.set_random_seed(6)
    km = build(keras, keras.layers.GlobalAveragePooling1D())
    fm = build(forgenet, MaskedMean())
    copy_weights(km, fm)
    want = knp(km(ids))
    assert_close(fm(ids), want, rtol=1e-5, atol=1e-6, what="functional pooling")

    class Sub(forgenet.Model):
        def __init__(self):
            super().__init__()
            self.emb = forgenet.layers.Embedding(12, 4, mask_zero=True)
            self.pool = MaskedMean()
            self.out = forgenet.layers.Dense(2)

        def call(self, x):
            return self.out(self.pool(self.emb(x)))

    sub = Sub()
    sub(ids)
    sub.set_weights(km.get_weights())
    assert_close(sub(ids), want, rtol=1e-5, atol=1e-6, what="subclassed pooling")

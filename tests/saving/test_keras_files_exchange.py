"""Keras 3's files move between Keras (torch backend) and forgenet both ways: `.keras` models and
`.weights.h5` weights written by one load in the other and predict the same, with the optimizer's state,
for the seed CNN, the text LSTM and a Transformer block (subclassed, and functional once forgenet has
the functional API)."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import json  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

import forgenet  # noqa: E402
from forgenet import saving  # noqa: E402
from forgenet.saving.keras_layout import optimizer_variables  # noqa: E402

ATOL = 2e-5


def cnn(K):
    return K.Sequential([K.layers.Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)), K.layers.MaxPooling2D(),
                         K.layers.Flatten(), K.layers.Dense(5, activation="softmax")])


def text_lstm(K):
    return K.Sequential([K.layers.Embedding(30, 8, mask_zero=True, input_shape=(7,)),
                         K.layers.LSTM(8, return_sequences=True), K.layers.LSTM(6),
                         K.layers.Dense(4, activation="softmax")])


def block_class(K):
    """The same subclassed Transformer block in either library (registered under one name)."""

    @K.saving.register_keras_serializable(package="exchange")
    class Block(K.Model):
        def __init__(self, dim=8, heads=2, **kwargs):
            super().__init__(**kwargs)
            self.dim, self.heads = dim, heads
            self.emb = K.layers.Embedding(20, dim)
            self.att = K.layers.MultiHeadAttention(heads, dim // heads)
            self.norm1 = K.layers.LayerNormalization()
            self.ffn = [K.layers.Dense(16, activation="relu"), K.layers.Dense(dim)]
            self.norm2 = K.layers.LayerNormalization()
            self.flat = K.layers.Flatten()
            self.out = K.layers.Dense(3, activation="softmax")

        def call(self, x):
            h = self.emb(x)
            h = self.norm1(h + self.att(h, h))
            f = h
            for layer in self.ffn:
                f = layer(f)
            return self.out(self.flat(self.norm2(h + f)))

        def get_config(self):
            return {**super().get_config(), "dim": self.dim, "heads": self.heads}

    return Block


def data(kind, rng):
    if kind == "cnn":
        return rng.random((6, 10, 10, 1)).astype(np.float32), rng.integers(0, 5, 6)
    if kind == "lstm":
        x = rng.integers(1, 30, (6, 7))
        x[:3, 5:] = 0  # padded: the mask reaches both LSTMs
        return x, rng.integers(0, 4, 6)
    return rng.integers(0, 20, (6, 5)), rng.integers(0, 3, 6)


def make(K, kind):
    if kind == "cnn":
        return cnn(K)
    if kind == "lstm":
        return text_lstm(K)
    return block_class(K)()


def trained(K, kind, rng):
    x, y = data(kind, rng)
    m = make(K, kind)
    m.compile(optimizer=K.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=1, batch_size=3, verbose=0)  # two steps: weights and Adam's moments move
    return m, x


def kpredict(m, x):
    return np.asarray(m.predict(x, verbose=0))


def keras_optimizer_state(m):
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in m.optimizer.variables]


def ours_optimizer_state(m):
    return [np.asarray(v.numpy()) for v in optimizer_variables(m.optimizer)]


KINDS = ["cnn", "lstm", "block"]


@pytest.mark.parametrize("kind", KINDS)
def test_keras_file_loads_in_forgenet(kind, tmp_path, rng):
    km, x = trained(keras, kind, rng)
    path = tmp_path / "k.keras"
    km.save(path)
    block_class(forgenet)  # forgenet's twin registers under the same name
    fm = saving.load_model(path)
    np.testing.assert_allclose(fm.predict(x, verbose=0), kpredict(km, x), atol=ATOL)
    assert fm.count_params() == km.count_params()
    assert type(fm.optimizer).__name__ == "Adam" and fm.optimizer.learning_rate == pytest.approx(0.01)
    ks, fs = keras_optimizer_state(km), ours_optimizer_state(fm)
    assert len(ks) == len(fs) and int(fs[0]) == int(ks[0]) == 2
    for a, b in zip(ks, fs):
        np.testing.assert_allclose(b, a, atol=1e-6)
    # training continues from the same state in both
    xb, yb = data(kind, np.random.default_rng(1))
    km.train_on_batch(xb, yb)
    fm.train_on_batch(xb, yb)
    np.testing.assert_allclose(fm.predict(x, verbose=0), kpredict(km, x), atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_forgenet_file_loads_in_keras(kind, tmp_path, rng):
    forgenet.utils.set_random_seed(7)
    fm, x = trained(forgenet, kind, rng)
    path = tmp_path / "f.keras"
    fm.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert json.loads(zf.read("config.json"))["class_name"] in ("Sequential", "Block")
    block_class(keras)
    km = keras.models.load_model(path)
    np.testing.assert_allclose(kpredict(km, x), fm.predict(x, verbose=0), atol=ATOL)
    ks, fs = keras_optimizer_state(km), ours_optimizer_state(fm)
    assert len(ks) == len(fs) and int(ks[0]) == 2
    for a, b in zip(ks, fs):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_weights_h5_both_ways(kind, tmp_path, rng):
    x, _ = data(kind, rng)
    km, fm = make(keras, kind), make(forgenet, kind)
    km(x[:1]), fm(x[:1])
    km.save_weights(tmp_path / "k.weights.h5")
    fm.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(fm.predict(x, verbose=0), kpredict(km, x), atol=ATOL)
    forgenet.utils.set_random_seed(99)
    fm2 = make(forgenet, kind)
    fm2(x[:1])
    fm2.save_weights(tmp_path / "f.weights.h5")
    km.load_weights(tmp_path / "f.weights.h5")
    np.testing.assert_allclose(kpredict(km, x), fm2.predict(x, verbose=0), atol=ATOL)


def test_forgenet_round_trip_of_its_own_keras_file(tmp_path, rng):
    fm, x = trained(forgenet, "cnn", rng)
    fm.save(tmp_path / "m.keras")
    again = saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), fm.predict(x, verbose=0))
    assert again.optimizer.iterations == fm.optimizer.iterations
    plain = saving.load_model(tmp_path / "m.keras", compile=False)
    assert not plain.compiled


def test_functional_exchange(tmp_path, rng):
    if not hasattr(forgenet, "Input"):
        pytest.skip("forgenet.Input (the functional API) is not in this build yet")
    x, _ = data("block", rng)

    def functional(K):
        inp = K.Input((5,), dtype="int32")
        h = K.layers.Embedding(20, 8)(inp)
        h = K.layers.LayerNormalization()(h + K.layers.MultiHeadAttention(2, 4)(h, h))
        out = K.layers.Dense(3, activation="softmax")(K.layers.Flatten()(h))
        return K.Model(inp, out)

    km = functional(keras)
    km.save(tmp_path / "k.keras")
    fm = saving.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(fm.predict(x, verbose=0), kpredict(km, x), atol=ATOL)
    fm2 = functional(forgenet)
    fm2.save(tmp_path / "f.keras")
    km2 = keras.models.load_model(tmp_path / "f.keras")
    np.testing.assert_allclose(kpredict(km2, x), fm2.predict(x, verbose=0), atol=ATOL)


OPTIMIZERS = [("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
              ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
              ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.01}),
              ("Adam", {"learning_rate": 0.01, "amsgrad": True})]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS)
def test_optimizer_state_both_ways(name, kwargs, tmp_path, rng):
    x, y = data("cnn", rng)
    for src, dst in ((keras, forgenet), (forgenet, keras)):
        m = cnn(src)
        m.compile(optimizer=getattr(src.optimizers, name)(**kwargs), loss="sparse_categorical_crossentropy")
        m.fit(x, y, epochs=1, batch_size=3, verbose=0)
        m.save(tmp_path / "m.keras")
        other = (saving.load_model if dst is forgenet else keras.models.load_model)(tmp_path / "m.keras")
        assert type(other.optimizer).__name__ == name
        mine = keras_optimizer_state(m) if src is keras else ours_optimizer_state(m)
        theirs = ours_optimizer_state(other) if dst is forgenet else keras_optimizer_state(other)
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(b, a, atol=1e-6)
        # one more step in both: the same weights after it
        m.train_on_batch(x[:3], y[:3])
        other.train_on_batch(x[:3], y[:3])
        pm = kpredict(m, x) if src is keras else m.predict(x, verbose=0)
        po = other.predict(x, verbose=0) if dst is forgenet else kpredict(other, x)
        np.testing.assert_allclose(po, pm, atol=1e-4)

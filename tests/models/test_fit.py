"""fit / evaluate / predict end to end: learning, one exact SGD step, batching and shuffling,
validation, determinism under a seed, subclassed models."""
import numpy as np
import pytest

import forgenet
from forgenet.layers import Layer
from forgenet.models import Model, Sequential

from models_helpers import Linear, blobs, mlp

from support import assert_close


def test_mlp_learns_separable_data():
    x, y = blobs(n=600)
    model = mlp()
    model.compile(forgenet.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    assert hist is model.history
    assert set(hist.history) == {"loss", "accuracy"} and len(hist.history["loss"]) == 8
    assert hist.history["loss"][-1] < hist.history["loss"][0] * 0.5
    assert hist.history["accuracy"][-1] > 0.95
    xt, yt = blobs(n=200, seed=0)
    loss, acc = model.evaluate(xt, yt, verbose=0)
    assert acc > 0.95 and loss < 0.3
    assert model.predict(xt, verbose=0).shape == (200, 3)


def test_one_sgd_step_is_exact(rng):
    """MSE on a linear model: w <- w - lr * 2/(N*C) * x^T (xw + b - y), computed here in float64."""
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    model = Sequential([Linear(2, input_shape=(3,))])
    w0, b0 = [a.astype(np.float64) for a in model.get_weights()]
    model.compile(forgenet.optimizers.SGD(learning_rate=0.1), "mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    err = x @ w0 + b0 - y
    w, b = model.get_weights()
    assert_close(w, w0 - 0.1 * 2 / 16 * x.T.astype(np.float64) @ err, rtol=1e-5, atol=1e-6)
    assert_close(b, b0 - 0.1 * 2 / 16 * err.sum(0), rtol=1e-5, atol=1e-6)
    assert model.history.history["loss"][0] == pytest.approx((err ** 2).mean(), rel=1e-5)


class Recorder(Layer):
    """Identity that records the batches it sees while training."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def call(self, x, training=False):
        if training:
            self.seen.append(np.array(x.data))
        return x


def test_batching_shuffling_and_epochs():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.zeros((10, 1), np.float32)
    rec = Recorder()
    model = Sequential([rec, Linear(1)])
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert [b[:, 0].tolist() for b in rec.seen] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    rec.seen.clear()
    forgenet.utils.set_random_seed(5)
    expect = [np.random.default_rng(5).permutation(10)]
    forgenet.utils.set_random_seed(5)
    h = model.fit(x, y, batch_size=4, epochs=3, initial_epoch=1, verbose=0)
    assert h.epoch == [1, 2] and len(rec.seen) == 6
    first = np.concatenate(rec.seen[:3])[:, 0]
    np.testing.assert_array_equal(first, expect[0])  # shuffling draws from forgenet's seeded generator
    assert sorted(np.concatenate(rec.seen[3:])[:, 0].tolist()) == list(range(10))


def test_validation_split_takes_the_last_samples_and_validation_data(rng):
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.standard_normal((20, 1)).astype(np.float32)
    model = Sequential([Linear(1, input_shape=(3,))])
    model.compile(forgenet.optimizers.SGD(learning_rate=0.0), "mse", metrics=["mae"])  # weights stay put
    h = model.fit(x, y, validation_split=0.25, epochs=2, batch_size=4, verbose=0)
    assert list(h.history) == ["loss", "mae", "val_loss", "val_mae"]
    val = model.evaluate(x[15:], y[15:], verbose=0, return_dict=True)
    train = model.evaluate(x[:15], y[:15], verbose=0, return_dict=True)
    assert h.history["val_loss"] == pytest.approx([val["loss"]] * 2, rel=1e-6)
    assert h.history["val_mae"] == pytest.approx([val["mae"]] * 2, rel=1e-6)
    assert h.history["loss"] == pytest.approx([train["loss"]] * 2, rel=1e-5)
    h = model.fit(x, y, validation_data=(x[:5], y[:5]), epochs=1, verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(x[:5], y[:5], verbose=0)[0], rel=1e-6)


def test_same_seed_same_run():
    x, y = blobs(n=200, seed=2)

    def run():
        model = mlp(seed=123)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.1)
        return model.get_weights(), h.history

    (w1, h1), (w2, h2) = run(), run()
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


class Residual(Model):
    """A subclassed model with a skip connection: trains with fit, no backward pass written."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.inp = Linear(8, "relu")
        self.block = Linear(8, "tanh")
        self.head = Linear(3, "softmax")

    def call(self, x):
        h = self.inp(x)
        return self.head(h + self.block(h))


def test_subclassed_model_with_residual_trains():
    x, y = blobs(n=300, seed=4)
    forgenet.utils.set_random_seed(0)
    model = Residual()
    model.compile(forgenet.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=6, verbose=0)
    assert h.history["accuracy"][-1] > 0.9
    assert len(model.trainable_weights) == 6 and model.count_params() == 4 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3


def test_predict_call_and_other_targets(rng):
    x, y = blobs(n=50)
    model = mlp()
    out = model(x)
    assert isinstance(out, np.ndarray) and out.shape == (50, 3)
    p7, p50 = model.predict(x, batch_size=7, verbose=0), model.predict(x, batch_size=50, verbose=0)
    np.testing.assert_array_equal(p7, p50)
    assert_close(p7, out, rtol=1e-6)
    assert model.predict(x.astype(np.float64)[:3], verbose=0).dtype == np.float32
    # uint8 inputs are cast per batch (no float copy of the whole set)
    xi = (rng.random((20, 4)) * 255).astype(np.uint8)
    assert_close(model.predict(xi, verbose=0), model(xi.astype(np.float32)), rtol=1e-6)
    # one-hot targets with categorical cross-entropy, regression with mse
    model.compile(forgenet.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, np.eye(3)[y], epochs=4, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    reg = Sequential([Linear(8, "tanh", input_shape=(4,)), Linear(1)])
    t = (x[:, :1] * 0.5 - x[:, 1:2]).astype(np.float32)
    reg.compile(forgenet.optimizers.Adam(0.02), "mse")
    h = reg.fit(x, t, epochs=20, batch_size=10, verbose=0)
    assert h.history["loss"][-1] < 0.2 * h.history["loss"][0]
    logs = reg.train_on_batch(x[:10], t[:10], return_dict=True)
    assert set(logs) == {"loss"}


def test_frozen_layers_do_not_train():
    x, y = blobs(n=64)
    model = mlp()
    model.layers[0].trainable = False
    before = model.layers[0].get_weights()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(w.grad is None for w in model.weights)


def test_keras_layers_cnn_learns_and_is_deterministic():
    from forgenet.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

    rng = np.random.default_rng(0)
    # two classes of 12x12 images: a bright horizontal vs vertical bar, plus noise
    n = 160
    y = rng.integers(0, 2, n)
    x = rng.random((n, 12, 12, 1)).astype(np.float32) * 0.3
    pos = rng.integers(2, 10, n)
    for i in range(n):
        if y[i]:
            x[i, pos[i], :, 0] += 1.0
        else:
            x[i, :, pos[i], 0] += 1.0

    def run():
        forgenet.utils.set_random_seed(7)
        model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1)), MaxPooling2D(2), Flatten(),
                            Dropout(0.2), Dense(2, activation="softmax")])
        model.compile(forgenet.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
        return model, h.history

    m1, h1 = run()
    m2, h2 = run()
    assert h1 == h2
    assert h1["accuracy"][-1] > 0.9
    np.testing.assert_array_equal(m1.predict(x, verbose=0), m2.predict(x, verbose=0))


def test_dense_mlp_learns():
    from forgenet.layers import Dense, Dropout

    x, y = blobs(n=400, classes=4, dim=6, seed=8)
    forgenet.utils.set_random_seed(0)
    model = Sequential([Dense(32, activation="relu", input_shape=(6,)), Dropout(0.1), Dense(4, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.2, verbose=0)
    assert h.history["val_accuracy"][-1] > 0.95


def test_summary_matches_keras_for_the_mnist_convnet():
    from forgenet.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

    model = Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1), name="conv2d"),
                        MaxPooling2D((2, 2), name="max_pooling2d"),
                        Conv2D(64, (3, 3), activation="relu", name="conv2d_1"),
                        MaxPooling2D((2, 2), name="max_pooling2d_1"), Flatten(name="flatten"),
                        Dropout(0.5, name="dropout"), Dense(10, activation="softmax", name="dense")], name="sequential")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # the figures Keras 3 prints for keras.io's "Simple MNIST convnet"
    for row in ("│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │",
                "│ max_pooling2d (MaxPooling2D)    │ (None, 13, 13, 32)     │             0 │",
                "│ conv2d_1 (Conv2D)               │ (None, 11, 11, 64)     │        18,496 │",
                "│ max_pooling2d_1 (MaxPooling2D)  │ (None, 5, 5, 64)       │             0 │",
                "│ flatten (Flatten)               │ (None, 1600)           │             0 │",
                "│ dropout (Dropout)               │ (None, 1600)           │             0 │",
                "│ dense (Dense)                   │ (None, 10)             │        16,010 │",
                " Total params: 34,826 (136.04 KB)", " Trainable params: 34,826 (136.04 KB)",
                " Non-trainable params: 0 (0.00 B)"):
        assert row in lines, f"missing {row!r} in\n{text}"
    assert lines[0] == 'Model: "sequential"' and "Optimizer params" not in text


def test_summary_of_an_unbuilt_model_and_after_training():
    model = Sequential([Linear(4), Linear(2)], name="lazy")
    lines = []
    model.summary(print_fn=lines.append)
    assert any("│ ?" in l and "0 (unbuilt)" in l for l in lines) and " Total params: 0 (0.00 B)" in lines
    x, y = blobs(n=8)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y % 2, epochs=1, verbose=0)
    lines.clear()
    model.summary(print_fn=lines.append)
    assert "(None, 4)" in lines[4] and lines[4].endswith("20 │")
    # Keras counts the optimizer's slots plus its iteration and learning-rate variables
    assert " Optimizer params: 62 (248.00 B)" in lines and " Total params: 92 (368.00 B)" in lines


def test_stale_gradients_do_not_leak_into_fit(rng):
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)

    def one_step(dirty):
        forgenet.utils.set_random_seed(0)
        model = Sequential([Linear(2, input_shape=(3,))])
        model.compile(forgenet.optimizers.SGD(0.1), "mse")
        if dirty:  # a user's manual backward() before fit
            model.loss(y, model(forgenet.Tensor(x), training=True)).backward()
        model.fit(x, y, batch_size=8, shuffle=False, verbose=0)
        return model.get_weights()

    for a, b in zip(one_step(False), one_step(True)):
        np.testing.assert_array_equal(a, b)


def test_predict_packs_each_dense_kernel_once_and_gives_the_unpacked_results(monkeypatch):
    from forgenet import kernels
    from forgenet.callbacks import Callback

    x = np.random.default_rng(3).standard_normal((70, 20)).astype(np.float32)  # 3 batches of 32, the last short
    forgenet.utils.set_random_seed(0)
    model = Sequential([forgenet.layers.Dense(48, activation="relu", input_shape=(20,)), forgenet.layers.Dense(5)])
    model.compile("adam", "mse")
    expected = np.concatenate([np.asarray(model(x[i:i + 32])) for i in range(0, 70, 32)])  # each batch unpacked
    packs = []
    real = kernels.gemm_pack_b
    monkeypatch.setattr(kernels, "gemm_pack_b", lambda b, **kw: packs.append(b.shape) or real(b, **kw))
    got = model.predict(x, batch_size=32, verbose=0)
    np.testing.assert_array_equal(got, expected)
    dense_kernels = [w.shape for w in model.weights if len(w.shape) == 2]
    assert sorted(packs) == sorted(dense_kernels)  # once per kernel, not once per batch

    class Touch(Callback):  # a callback may change weights between batches: then nothing is kept packed
        def on_predict_batch_end(self, batch, logs=None):
            w = self.model.weights[0]
            w.data *= 0.5

    packs.clear()
    model.predict(x, batch_size=32, verbose=0, callbacks=[Touch()])
    assert packs == []
    # a weight assigned anew between predict calls is packed again, from its new value
    model.weights[0].assign(np.zeros(model.weights[0].shape, np.float32))
    packs.clear()
    got = model.predict(x, batch_size=32, verbose=0)
    np.testing.assert_array_equal(got, np.concatenate([np.asarray(model(x[i:i + 32])) for i in range(0, 70, 32)]))
    assert len(packs) == len(dense_kernels)

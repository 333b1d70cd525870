"""The Trainer's input paths and its refusals: each unsupported combination names its argument."""
import warnings

import numpy as np
import pytest

import forgenet
from forgenet import layers
from forgenet.models import Model


class Net(Model):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.hidden = layers.Dense(8, activation="relu")
        self.out = layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


@pytest.fixture
def model():
    m = Net(name="net")
    m(np.zeros((1, 4), np.float32))
    m.compile(optimizer=forgenet.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def gen(x, y, bs=10):
    while True:
        for i in range(0, len(x), bs):
            yield x[i:i + bs], y[i:i + bs]


class Batches(forgenet.utils.PyDataset):
    def __init__(self, x, y, bs, **kw):
        super().__init__(**kw)
        self.x, self.y, self.bs, self.ended, self.read = x, y, bs, 0, []

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        self.read.append(i)
        return self.x[i * self.bs:(i + 1) * self.bs], self.y[i * self.bs:(i + 1) * self.bs]

    def on_epoch_end(self):
        self.ended += 1


def test_unsupported_combinations_name_the_argument(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"net.fit: validation_split is only supported for arrays"):
        model.fit(gen(x, y), steps_per_epoch=2, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match=r"when x is a generator, `y` should not be passed"):
        model.fit(gen(x, y), y, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match=r"when x is a PyDataset, `sample_weight` should not be passed"):
        model.fit(Batches(x, y, 10), sample_weight=np.ones(30), verbose=0)
    with pytest.raises(ValueError, match=r"when x is a generator, `batch_size` should not be passed"):
        model.fit(gen(x, y), batch_size=4, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight is not supported for generator inputs"):
        model.fit(gen(x, y), class_weight={0: 1.0}, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match=r"you cannot pass both class_weight and sample_weight"):
        model.fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(30), verbose=0)
    with pytest.raises(ValueError, match=r"class_weight must be a dict"):
        model.fit(x, y, class_weight=[1.0, 2.0], verbose=0)
    with pytest.raises(ValueError, match=r"class_weight needs one class per sample"):
        model.fit(x, np.zeros((30, 2, 3)), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"x and sample_weight must have the same number of samples"):
        model.fit(x, y, sample_weight=np.ones(29), verbose=0)
    with pytest.raises(ValueError, match=r"steps must be a positive integer or None, got 0"):
        model.fit(x, y, steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match=r"shuffle must be True, False or 'batch'"):
        model.fit(x, y, shuffle="yes", verbose=0)
    with pytest.raises(ValueError, match=r"validation_freq must be a positive integer"):
        model.fit(x, y, validation_data=(x, y), validation_freq=0, verbose=0)
    with pytest.raises(ValueError, match=r"unrecognized data type: x of type object"):
        model.fit(object(), verbose=0)
    with pytest.raises(ValueError, match=r"a generator must yield x, \(x,\), \(x, y\) or \(x, y, sample_weight\)"):
        model.fit(iter([(x, y, y, y)]), verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: arguments not recognized: \['foo'\]"):
        model.evaluate(x, y, foo=1)
    with pytest.raises(ValueError, match=r"net: y is required"):
        model.fit(x, verbose=0)
    with pytest.raises(NotImplementedError, match="use_multiprocessing=True is not supported"):
        Batches(x, y, 10, use_multiprocessing=True)
    with pytest.raises(ValueError, match=r"steps_per_execution must be 1"):
        model.compile("sgd", "mse", steps_per_execution=4)


def test_generator_steps_carry_on_across_epochs(model, data):
    x, y = data
    seen = []

    def counting():
        for i, batch in enumerate(gen(x, y, 5)):
            seen.append(i)
            yield batch

    hist = model.fit(counting(), steps_per_epoch=2, epochs=3, verbose=0)
    assert seen == list(range(6)) and len(hist.history["loss"]) == 3
    finite = ((x[i:i + 10], y[i:i + 10]) for i in range(0, 30, 10))
    with pytest.warns(UserWarning, match="ran out of data"):
        hist = model.fit(finite, steps_per_epoch=5, epochs=1, verbose=0)
    assert len(hist.history["loss"]) == 1


def test_py_dataset_epochs_workers_and_shuffle(model, data):
    x, y = data
    one = Batches(x, y, 7)
    w0 = model.get_weights()
    model.fit(one, epochs=2, shuffle=False, verbose=0)
    assert one.ended == 2 and one.read == [0, 1, 2, 3, 4] * 2
    after_one = model.get_weights()
    model.set_weights(w0)
    threaded = Batches(x, y, 7, workers=3, max_queue_size=2)
    model.fit(threaded, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), after_one):  # threads read ahead but hand batches over in order
        np.testing.assert_array_equal(a, b)
    shuffled = Batches(x, y, 7)
    model.fit(shuffled, epochs=1, shuffle=True, verbose=0)
    assert sorted(shuffled.read) == [0, 1, 2, 3, 4]


def test_shuffle_batch_keeps_batches_together(model, data):
    x, y = data
    seen = []

    class Spy(Net):
        def train_step(self, data):
            seen.append(np.sort(np.asarray(data[0])[:, 0]))
            return super().train_step(data)

    m = Spy()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    m.fit(x, y, batch_size=10, shuffle="batch", verbose=0)
    for i, got in enumerate(seen):
        np.testing.assert_array_equal(got, np.sort(x[i * 10:(i + 1) * 10, 0]))


def test_every_entry_point_goes_through_the_public_steps(data):
    x, y = data
    calls = []

    class Counting(Net):
        def train_step(self, data):
            calls.append("train")
            return super().train_step(data)

        def test_step(self, data):
            calls.append("test")
            return super().test_step(data)

        def predict_step(self, data):
            calls.append("predict")
            return super().predict_step(data) * 2.0

    m = Counting()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    m.fit(x, y, batch_size=15, validation_data=(x, y), verbose=0)
    m.evaluate(x, y, batch_size=30, verbose=0)
    m.train_on_batch(x, y)
    m.test_on_batch(x, y)
    p = m.predict(x, batch_size=30, verbose=0)
    p1 = m.predict_on_batch(x)
    # fit: 2 batches and 2 of validation; evaluate: 1; then one each for the *_on_batch and predict
    assert calls == ["train", "train", "test", "test", "test", "train", "test", "predict", "predict"]
    np.testing.assert_allclose(p.sum(-1), 2.0, rtol=1e-5)
    np.testing.assert_allclose(p1, p, rtol=1e-6)


def test_callbacks_get_the_logs_history_records(model, data):
    x, y = data
    got = []

    class Record(forgenet.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            got.append(dict(logs))

        def on_train_batch_end(self, batch, logs=None):
            assert set(logs) == {"loss", "accuracy"} and all(isinstance(v, float) for v in logs.values())

    hist = model.fit(x, y, epochs=2, batch_size=8, validation_data=(x, y), callbacks=[Record()], verbose=0)
    assert list(got[0]) == ["accuracy", "loss", "val_accuracy", "val_loss"] == list(hist.history)
    assert [g["loss"] for g in got] == hist.history["loss"]


def test_metrics_property_and_user_metrics(data):
    x, y = data

    class WithMetric(Net):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.seen = forgenet.metrics.Mean(name="mean_pred")

        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            self.seen.update_state(y_pred)
            return super().compute_metrics(x, y, y_pred, sample_weight)

    m = WithMetric()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert m.metrics_names == ["loss", "compile_metrics", "mean_pred"]
    hist = m.fit(x, y, batch_size=10, verbose=0)
    assert sorted(hist.history) == ["accuracy", "loss", "mean_pred"]
    assert hist.history["mean_pred"][0] == pytest.approx(1 / 3, rel=1e-5)  # softmax rows average 1/3
    assert set(m.get_metrics_result()) == {"loss", "accuracy", "mean_pred"}
    m.reset_metrics()
    assert m.get_metrics_result()["mean_pred"] == 0.0


def test_torch_tensors_and_array_likes(model, data):
    torch = pytest.importorskip("torch")
    x, y = data
    w0 = model.get_weights()
    ref = model.fit(x, y, batch_size=10, shuffle=False, verbose=0).history
    model.set_weights(w0)
    tx = torch.from_numpy(x).requires_grad_(True)  # exported through DLPack after a detach
    got = model.fit(tx, torch.from_numpy(y), batch_size=10, shuffle=False, verbose=0).history
    assert got == ref
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=10)
    model.set_weights(w0)
    assert model.fit(loader, epochs=1, verbose=0).history == ref

    class ArrayLike:
        def __array__(self, dtype=None, copy=None):
            return x

    np.testing.assert_allclose(model.predict(ArrayLike(), verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_no_trainable_weights_warns_and_add_loss_alone_trains(data):
    x, y = data

    class OnlyPenalty(Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.d = layers.Dense(2)

        def call(self, x):
            out = self.d(x)
            self.add_loss(forgenet.ops.mean(out * out))
            return out

    m = OnlyPenalty()
    m.compile(optimizer=forgenet.optimizers.SGD(0.1))  # no compiled loss: add_loss is the whole objective
    hist = m.fit(x, y, epochs=3, batch_size=30, verbose=0)
    assert hist.history["loss"][2] < hist.history["loss"][0]
    m.d.trainable = False
    m.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m.train_on_batch(x, np.zeros((30, 2), np.float32))
    assert any("does not have any trainable weights" in str(e.message) for e in w)

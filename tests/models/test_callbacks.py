"""Callbacks: hook order and params, History, EarlyStopping (patience, min_delta, modes,
restore_best_weights), ModelCheckpoint ({epoch} names, best only, weights only), TerminateOnNaN,
and the progress bar's output."""
import os
import re

import numpy as np
import pytest

import forgenet
from forgenet.callbacks import Callback, EarlyStopping, History, ModelCheckpoint, TerminateOnNaN
from forgenet.models import load_model

from models_helpers import Linear, blobs, mlp


class Log(Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None): self.events.append("train_begin")
    def on_train_end(self, logs=None): self.events.append("train_end")
    def on_epoch_begin(self, epoch, logs=None): self.events.append(f"epoch_begin {epoch}")
    def on_epoch_end(self, epoch, logs=None): self.events.append(f"epoch_end {epoch} {sorted(logs)}")
    def on_train_batch_end(self, batch, logs=None): self.events.append(f"batch {batch} {sorted(logs)}")


class Scripted(Callback):
    """Puts a scripted value under `key` in the epoch logs (runs before the callbacks after it)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values, self.weights = key, values, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


@pytest.fixture
def data():
    return blobs(n=40)


@pytest.fixture
def model():
    m = mlp()
    m.compile(forgenet.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_hooks_order_params_and_history(model, data):
    x, y = data
    log = Log()
    h = model.fit(x, y, batch_size=16, epochs=2, callbacks=[log], verbose=0, validation_split=0.2)
    keys = ["accuracy", "loss"]
    assert log.events == ["train_begin", "epoch_begin 0", f"batch 0 {keys}", f"batch 1 {keys}",
                          f"epoch_end 0 {keys + ['val_accuracy', 'val_loss']}", "epoch_begin 1", f"batch 0 {keys}",
                          f"batch 1 {keys}", f"epoch_end 1 {keys + ['val_accuracy', 'val_loss']}", "train_end"]
    assert log.params == {"verbose": 0, "epochs": 2, "steps": 2} and log.model is model
    assert isinstance(h, History) and h.epoch == [0, 1] and model.history is h
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_early_stopping_patience_and_restore(model, data):
    x, y = data
    # a monitor that never improves stops after patience + 1 epochs (Keras counts the first as the best)
    script = Scripted("score", [5.0] * 20)
    stop = EarlyStopping(monitor="score", mode="min", patience=2)
    h = model.fit(x, y, epochs=20, callbacks=[script, stop], verbose=0)
    assert len(h.epoch) == 3 and stop.stopped_epoch == 2 and model.stop_training
    # min_delta: improvements smaller than it do not count
    script = Scripted("score", [5.0, 4.95, 4.9, 4.85, 4.0, 3.0, 2.0])
    h = model.fit(x, y, epochs=7, callbacks=[script, EarlyStopping("score", min_delta=0.1, mode="min", patience=2)],
                  verbose=0)
    assert len(h.epoch) == 3
    # restore_best_weights brings back the best epoch's weights
    script = Scripted("val_thing", [3.0, 1.0, 2.0, 2.5, 0.5])
    stop = EarlyStopping("val_thing", mode="min", patience=2, restore_best_weights=True)
    h = model.fit(x, y, epochs=5, callbacks=[script, stop], verbose=0)
    assert h.epoch == [0, 1, 2, 3] and stop.best_epoch == 1
    for a, b in zip(model.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(a, b)
    # mode="max" and auto from the metric's direction
    script = Scripted("val_accuracy", [0.5, 0.6, 0.55, 0.4, 0.9])
    h = model.fit(x, y, epochs=5, callbacks=[script, EarlyStopping("val_accuracy", patience=1)], verbose=0)
    assert len(h.epoch) == 3
    with pytest.raises(ValueError, match="cannot tell whether that metric should be maximized or minimized"):
        model.fit(x, y, epochs=2, callbacks=[EarlyStopping("mystery")], verbose=0)


def test_early_stopping_on_val_loss_stops_a_diverging_run(data):
    x, y = data
    model = mlp()
    model.compile(forgenet.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=10, validation_split=0.25, callbacks=[EarlyStopping(patience=1)], verbose=0)
    assert len(h.epoch) == 2  # val_loss is flat with lr 0: no improvement after the first epoch


def test_model_checkpoint(model, data, tmp_path):
    x, y = data
    path = str(tmp_path / "ck" / "model-{epoch:02d}.fgn")
    model.fit(x, y, epochs=3, callbacks=[ModelCheckpoint(path, monitor="loss")], verbose=0)
    assert sorted(os.listdir(tmp_path / "ck")) == ["model-01.fgn", "model-02.fgn", "model-03.fgn"]
    loaded = load_model(tmp_path / "ck" / "model-03.fgn", custom_objects={"Linear": Linear})
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # save_best_only: only improving epochs write; the file keeps the best epoch's weights
    script = Scripted("val_score", [3.0, 1.0, 2.0])
    best = str(tmp_path / "best.fgn")
    ck = ModelCheckpoint(best, monitor="val_score", save_best_only=True, save_weights_only=True)
    model.fit(x, y, epochs=3, callbacks=[script, ck], verbose=0)
    assert ck.best == 1.0
    fresh = mlp(seed=99)
    fresh.load_weights(best)
    for a, b in zip(fresh.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(a, b)
    # log values in the file name
    model.fit(x, y, epochs=1, callbacks=[ModelCheckpoint(str(tmp_path / "m-{epoch}-{loss:.2f}.fgn"))], verbose=0)
    assert any(re.fullmatch(r"m-1-\d\.\d\d\.fgn", f) for f in os.listdir(tmp_path))
    with pytest.raises(KeyError, match="failed to format filepath"):
        model.fit(x, y, epochs=1, callbacks=[ModelCheckpoint(str(tmp_path / "{nope}.fgn"))], verbose=0)


def test_terminate_on_nan(model, data, capsys):
    x, y = data
    x = x.copy()
    x[20] = np.nan  # lands in the second batch when not shuffled
    log = Log()
    h = model.fit(x, y, batch_size=16, epochs=5, shuffle=False, callbacks=[TerminateOnNaN(), log], verbose=0)
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    assert [e.split()[1] for e in log.events if e.startswith("batch")] == ["0", "1"]  # of 3: stopped mid-epoch
    assert len(h.epoch) == 1 and np.isnan(h.history["loss"][0])


def test_progress_output(model, data, capsys):
    x, y = data
    model.fit(x, y, batch_size=16, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1
    assert re.search(r"^3/3 ━{20} \d+s \d+\w?s/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}$", out, re.M), out
    model.fit(x, y, batch_size=16, epochs=1, verbose=2, validation_split=0.5)
    out = capsys.readouterr().out
    assert re.fullmatch(r"2/2 - \d+s - \d+\w?s/step - accuracy: \S+ - loss: \S+ - val_accuracy: \S+ - val_loss: \S+\n",
                        out), out
    model.fit(x, y, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, batch_size=10, verbose=1)
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+\w?s/step - accuracy: \S+ - loss: \S+\n", capsys.readouterr().out)


def test_callbacks_must_be_callbacks(model, data):
    with pytest.raises(TypeError, match="callbacks must be forgenet.callbacks.Callback instances, got function"):
        model.fit(*data, callbacks=[lambda: None], verbose=0)

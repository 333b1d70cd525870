"""Learning-rate schedules against Keras's on the same steps; the added callbacks in real fit() runs."""
import csv
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402
from forgenet import callbacks, layers, optimizers  # noqa: E402
from forgenet.optimizers import schedules  # noqa: E402

SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[5, 12], values=[1.0, 0.5, 0.1])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=20, end_learning_rate=0.01, power=2.0)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=8, cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.3)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.3, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=20, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=20, warmup_target=0.2, warmup_steps=6)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=4, t_mul=1.0, m_mul=0.5, alpha=0.1)),
]


@pytest.mark.parametrize("name,kw", SCHEDULES, ids=[f"{s[0]}{i}" for i, s in enumerate(SCHEDULES)])
def test_schedule_matches_keras(name, kw):
    ours, theirs = getattr(schedules, name)(**kw), getattr(keras.optimizers.schedules, name)(**kw)
    for step in range(40):
        np.testing.assert_allclose(float(ours(step)), float(keras.ops.convert_to_numpy(theirs(step))), rtol=1e-5,
                                   atol=1e-7, err_msg=f"step {step}")
    assert ours.get_config() == theirs.get_config()
    again = schedules.deserialize(schedules.serialize(ours))
    assert again.get_config() == ours.get_config()


def test_schedule_errors():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.CosineDecay(0.1, 0)
    with pytest.raises(ValueError, match="boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], np.float32))[:, None]
    return x, y


def _model(lr=0.01):
    m = forgenet.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse")
    return m


def test_schedule_drives_training():
    x, y = _data()
    m = forgenet.Sequential([layers.Dense(1, input_shape=(4,))])
    sched = schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    m.compile(optimizer=optimizers.SGD(learning_rate=sched), loss="mse")
    m.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert m.optimizer.iterations == 8
    assert m.optimizer.learning_rate == pytest.approx(float(sched(8)))


def test_learning_rate_scheduler():
    x, y = _data()
    m = _model()
    seen = []
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(m.optimizer.learning_rate))
    h = m.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[cb, spy])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    one_arg = callbacks.LearningRateScheduler(lambda epoch: 0.02)
    m.fit(x, y, epochs=1, verbose=0, callbacks=[one_arg])
    assert m.optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match="should be a float"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "fast")])


class Scripted(callbacks.Callback):
    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_reduce_lr_on_plateau_follows_keras_rules():
    x, y = _data()
    m = _model(lr=1.0)
    vals = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.5, 0.6, 0.6]
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = []
    spy = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: lrs.append(m.optimizer.learning_rate))
    m.compile(optimizer=optimizers.SGD(learning_rate=1e-9), loss="mse")
    m.optimizer.learning_rate = 1.0
    m.fit(x, y, epochs=len(vals), verbose=0, callbacks=[Scripted(vals), cb, spy])
    # Keras's rules: improvements at 0, 1; 2 waits -> halve at epoch 3 (cooldown 1); the cooldown epoch 4 resets
    # wait but, its cooldown then spent, counts as a wait: halve again at 5; epoch 7 improves; 2 waits -> at 9
    # the halving (0.125) is capped by min_lr 0.2
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2])
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_csv_logger(tmp_path):
    x, y = _data()
    m = _model()
    path = tmp_path / "log.csv"
    m.fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "val_loss"] and [r[0] for r in rows[1:]] == ["0", "1"]
    m.fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert len(rows) == 4 and rows[3][0] == "0"
    m.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, separator=";")])
    assert open(path).readline().strip() == "epoch;loss"


def test_lambda_callback_hooks():
    x, y = _data()
    m = _model()
    events = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                                  on_train_batch_end=lambda b, logs: events.append(f"b{b}"),
                                  on_train_end=lambda logs: events.append("end"))
    m.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[cb])
    assert events == ["begin", "b0", "b1", "end"]
    with pytest.raises(TypeError, match="unknown hooks"):
        callbacks.LambdaCallback(on_everything=print)


def test_backup_and_restore_saves_and_cleans_up(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)  # built
    d = tmp_path / "backup"
    seen = {}

    class Stop(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                seen["files"] = sorted(os.listdir(d))
                raise KeyboardInterrupt  # an interrupted run keeps its backup

    with pytest.raises(KeyboardInterrupt):
        m.fit(x, y, epochs=4, verbose=0, callbacks=[callbacks.BackupAndRestore(d), Stop()])
    assert seen["files"] == ["latest.weights.h5", "training_metadata.json"]
    import json
    assert json.load(open(d / "training_metadata.json"))["epoch"] == 2
    saved = m.get_weights()
    fresh = _model()
    fresh.fit(x[:1], y[:1], epochs=1, verbose=0)
    cb = callbacks.BackupAndRestore(d)
    cb.set_model(fresh)
    cb.on_train_begin()
    assert fresh._initial_epoch == 2
    for a, b in zip(fresh.get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    cb.on_train_end()
    assert not d.exists()

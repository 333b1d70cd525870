"""Whole fit() runs with the added pieces, Keras 3 (torch backend) and forgenet from the same weights, no
shuffling: optimizers given by name or with a schedule, the new losses, metrics given by string, and the
learning-rate callbacks must give the same history and weights to float32 rounding."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402

from support import assert_close  # noqa: E402

R = np.random.default_rng(3)
X = R.standard_normal((48, 5)).astype(np.float32)
Y_REG = (X @ R.standard_normal((5, 2))).astype(np.float32)
Y_BIN = (X[:, :1] > 0).astype(np.float32)
Y_CLS = np.eye(3, dtype=np.float32)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)]

RUNS = [
    ("nadam", "huber", ["mae", "root_mean_squared_error"], Y_REG, None),
    ("adamax", "log_cosh", ["mape"], Y_REG, None),
    ("adagrad", "binary_focal_crossentropy", ["auc", "precision", "recall"], Y_BIN, "sigmoid"),
    ("lion", "categorical_focal_crossentropy", ["categorical_accuracy", "kl_divergence"], Y_CLS, "softmax"),
    ("adadelta", "squared_hinge", ["hinge"], Y_BIN, "tanh"),
    ("ftrl", "poisson", ["poisson"], np.abs(Y_REG), "softplus"),
]


def _pair(units, out_act):
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="elu"),
                           keras.layers.Dense(units, activation=out_act)])
    fm = forgenet.Sequential([forgenet.layers.Dense(6, activation="elu", input_shape=(5,)),
                              forgenet.layers.Dense(units, activation=out_act)])
    fm.set_weights(km.get_weights())
    return km, fm


def _compare(kh, fh, km, fm):
    assert list(fh.history) == list(kh.history)
    for k in kh.history:
        assert_close(fh.history[k], kh.history[k], rtol=3e-4, atol=2e-5, what=k)
    for kw, fw in zip(km.get_weights(), fm.get_weights()):
        assert_close(fw, kw, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("opt,loss,metrics,y,out_act", RUNS, ids=[r[0] + "-" + r[1] for r in RUNS])
def test_fit_matches_keras(opt, loss, metrics, y, out_act):
    km, fm = _pair(y.shape[1], out_act)
    kw = dict(batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    km.compile(optimizer=opt, loss=loss, metrics=metrics)
    fm.compile(optimizer=opt, loss=loss, metrics=metrics)
    _compare(km.fit(X, y, **kw), fm.fit(X, y, **kw), km, fm)


def test_schedule_and_lr_callbacks_match_keras():
    km, fm = _pair(2, None)
    km.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.PolynomialDecay(0.05, 6, 0.01)), loss="mse")
    fm.compile(optimizer=forgenet.optimizers.SGD(forgenet.optimizers.schedules.PolynomialDecay(0.05, 6, 0.01)),
               loss="mse")
    kw = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    _compare(km.fit(X, Y_REG, **kw), fm.fit(X, Y_REG, **kw), km, fm)

    km, fm = _pair(2, None)
    km.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    fm.compile(optimizer=forgenet.optimizers.Adam(0.05), loss="mse")
    kcb = [keras.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5),
           keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)]
    fcb = [forgenet.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5),
           forgenet.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)]
    _compare(km.fit(X, Y_REG, callbacks=kcb, **kw), fm.fit(X, Y_REG, callbacks=fcb, **kw), km, fm)

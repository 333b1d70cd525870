"""LSTM / GRU / SimpleRNN take Keras's weight options: the regularizers and constraints live on the cell
(as in Keras), activity_regularizer on the layer; penalties, configs and constraints match Keras."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402
from forgenet import layers, optimizers, regularizers  # noqa: E402
from forgenet.layers.weight_options import regularization_losses  # noqa: E402

X = np.random.default_rng(0).standard_normal((3, 5, 2)).astype(np.float32)
OPTS = ["kernel", "recurrent", "bias"]


def _f(v):
    return float(np.asarray(getattr(v, "data", v)))


def _ours(name, **kw):
    return getattr(layers, name)(4, kernel_regularizer=regularizers.L2(0.1), recurrent_regularizer=regularizers.L1(0.2),
                                 bias_regularizer=regularizers.L1L2(0.3, 0.4), activity_regularizer=regularizers.L2(0.5),
                                 kernel_constraint="non_neg", **kw)


def _keras(name, **kw):
    R = keras.regularizers
    return getattr(keras.layers, name)(4, kernel_regularizer=R.L2(0.1), recurrent_regularizer=R.L1(0.2),
                                       bias_regularizer=R.L1L2(0.3, 0.4), activity_regularizer=R.L2(0.5),
                                       kernel_constraint="non_neg", **kw)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_penalties_and_config_match_keras(name):
    k, ours = _keras(name), _ours(name)
    k(X)
    k.set_weights([w + 0.25 for w in k.get_weights()])  # a non-zero bias
    ours(X)
    ours.set_weights(k.get_weights())
    ky = keras.ops.convert_to_numpy(k(X))
    y = ours(X)
    np.testing.assert_allclose(np.asarray(getattr(y, "data", y)), ky, rtol=1e-5, atol=1e-5)
    assert len(ours.losses) == 4  # three weight penalties (on the cell) and the activity one
    want = sum(float(keras.ops.convert_to_numpy(v)) for v in k.losses)
    keras_drops_activity = name == "SimpleRNN"  # Keras 3.15's SimpleRNN never passes it on: its documented
    if keras_drops_activity:                     # penalty (as LSTM / GRU apply it) is what we owe
        want += 0.5 * float(np.sum(ky.astype(np.float64) ** 2)) / X.shape[0]
    np.testing.assert_allclose(sum(_f(v) for v in ours.losses), want, rtol=1e-5)
    cfg, kcfg = ours.get_config(), k.get_config()
    for o in [f"{p}_{kind}" for p in OPTS for kind in ("regularizer", "constraint")] + \
            ["activity_regularizer"] * (not keras_drops_activity):
        if kcfg[o] is None:
            assert cfg[o] is None, o
        else:
            assert (cfg[o]["class_name"], cfg[o]["config"]) == (kcfg[o]["class_name"], kcfg[o]["config"]), o
    again = type(ours).from_config(cfg)
    assert again.get_config() == cfg
    # and a Keras config reads back with the same options
    assert type(ours).from_config(kcfg).cell.recurrent_regularizer.l1 == pytest.approx(0.2)


def test_penalty_gradient_and_constraint_in_training():
    m = forgenet.Sequential([layers.LSTM(3, kernel_regularizer=regularizers.L2(0.5), kernel_constraint="non_neg")])
    m(X)
    cell = m.layers[0].cell
    assert len(regularization_losses(m)) == 1
    sum(regularization_losses(m)).backward()
    np.testing.assert_allclose(cell.kernel.grad, 2 * 0.5 * cell.kernel.numpy(), rtol=1e-6)
    m.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    m.fit(X, np.ones((3, 3), np.float32), epochs=1, verbose=0)
    assert (cell.kernel.numpy() >= 0).all()  # the optimizer applied the constraint after its step


def test_rnn_with_a_cell_takes_activity_regularizer():
    cell = layers.SimpleRNNCell(3, kernel_regularizer="l2")
    rnn = layers.RNN(cell, activity_regularizer="l2")
    rnn(X)
    assert len(rnn.losses) == 2

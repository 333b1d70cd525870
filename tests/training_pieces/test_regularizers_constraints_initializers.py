"""Regularizers and constraints against Keras 3 (values, gradients, configs), their wiring into Dense, Conv2D,
Embedding and LSTM, and the initializer objects (distributions, seeds, names, configs)."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from forgenet import constraints, initializers, layers, optimizers, regularizers  # noqa: E402
from forgenet.autograd import Tensor, Variable  # noqa: E402
from forgenet.layers.weight_options import regularization_losses  # noqa: E402

W = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)

REGS = [("L1", {}), ("L2", {"l2": 0.3}), ("L1L2", {"l1": 0.1, "l2": 0.2}), ("OrthogonalRegularizer", {}),
        ("OrthogonalRegularizer", {"factor": 0.5, "mode": "columns"})]


@pytest.mark.parametrize("name,kw", REGS, ids=[r[0] + str(i) for i, r in enumerate(REGS)])
def test_regularizer_matches_keras(name, kw):
    kr, fr = getattr(keras.regularizers, name)(**kw), getattr(regularizers, name)(**kw)
    t = torch.from_numpy(W.copy()).requires_grad_(True)
    kv = kr(t)
    kv.backward()
    v = Variable(W.copy())
    fv = fr(v)
    fv.backward()
    np.testing.assert_allclose(float(fv.data), float(kv.detach()), rtol=1e-5)
    np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert fr.get_config() == kr.get_config()
    assert regularizers.get(regularizers.serialize(fr)).get_config() == fr.get_config()


@pytest.mark.parametrize("alias", ["l1", "l2", "orthogonal_regularizer"])
def test_regularizer_names(alias):
    assert type(regularizers.get(alias)).__name__ == type(keras.regularizers.get(alias)).__name__


CONS = [("MaxNorm", {"max_value": 1.0}), ("MaxNorm", {"max_value": 0.5, "axis": 1}), ("NonNeg", {}),
        ("UnitNorm", {}), ("UnitNorm", {"axis": 1}), ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.5, "rate": 0.7})]


@pytest.mark.parametrize("name,kw", CONS, ids=[c[0] + str(i) for i, c in enumerate(CONS)])
def test_constraint_matches_keras(name, kw):
    kc, fc = getattr(keras.constraints, name)(**kw), getattr(constraints, name)(**kw)
    np.testing.assert_allclose(fc(W), keras.ops.convert_to_numpy(kc(keras.ops.convert_to_tensor(W))), rtol=1e-6,
                               atol=1e-7)
    assert fc.get_config() == kc.get_config()
    assert type(constraints.get(constraints.serialize(fc))) is type(fc)


def test_dense_penalties_and_constraints_match_keras():
    x = np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32)
    kw = dict(kernel_regularizer=keras.regularizers.L2(0.1), bias_regularizer="l1", activity_regularizer="l2",
              kernel_constraint=keras.constraints.MaxNorm(0.3))
    k = keras.layers.Dense(4, bias_initializer="ones", **kw)
    k(x)
    ours = layers.Dense(4, kernel_regularizer=regularizers.L2(0.1), bias_regularizer="l1", activity_regularizer="l2",
                        kernel_constraint=constraints.MaxNorm(0.3))
    ours(x)
    ours.set_weights(k.get_weights())
    k(x)
    ours(Tensor(x))
    kl = sorted(float(keras.ops.convert_to_numpy(v)) for v in k.losses)
    fl = sorted(float(v.data) for v in regularization_losses(ours))
    np.testing.assert_allclose(fl, kl, rtol=1e-5)
    for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint"):
        assert ours.get_config()[key]["class_name"] == k.get_config()[key]["class_name"]
        assert ours.get_config()[key]["config"] == k.get_config()[key]["config"]
    assert "bias_constraint" not in ours.get_config()
    # the optimizer applies the constraint after its step, as Keras
    kopt, fopt = keras.optimizers.SGD(1.0), optimizers.SGD(1.0)
    g = np.full((5, 4), -3.0, np.float32)
    kopt.apply_gradients([(keras.ops.convert_to_tensor(g), k.kernel)])
    fopt.apply([g], [ours.kernel])
    np.testing.assert_allclose(ours.kernel.numpy(), keras.ops.convert_to_numpy(k.kernel), rtol=1e-5, atol=1e-6)


def test_gradient_of_the_penalty_reaches_the_weight():
    d = layers.Dense(2, kernel_regularizer=regularizers.L2(0.5), use_bias=False)
    d(np.zeros((1, 3), np.float32))
    sum(regularization_losses(d)).backward()
    np.testing.assert_allclose(d.kernel.grad, 2 * 0.5 * d.kernel.numpy(), rtol=1e-6)


@pytest.mark.parametrize("make,opts", [
    (lambda **kw: layers.Conv2D(2, 3, **kw), ["kernel", "bias"]),
    (lambda **kw: layers.Embedding(10, 4, **kw), ["embeddings"]),
    (lambda **kw: layers.LSTM(3, **kw), ["kernel", "recurrent", "bias"]),
])
def test_other_layers_take_the_options(make, opts):
    kw = {f"{o}_regularizer": "l2" for o in opts} | {f"{o}_constraint": "non_neg" for o in opts}
    lay = make(**kw)
    x = {"embeddings": np.array([[1, 2]]), "recurrent": np.zeros((1, 4, 2), np.float32)}
    lay(x.get(opts[-1], x["recurrent"] if "recurrent" in opts else np.zeros((1, 5, 5, 1), np.float32)))
    assert len(regularization_losses(lay)) == len(opts)
    cfg = lay.get_config()
    assert all(cfg[f"{o}_regularizer"]["class_name"] == "L2" for o in opts)
    assert type(lay).from_config(cfg).get_config() == cfg
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        make(gamma_regularizer="l2")


# ---- initializers ---------------------------------------------------------------------------------------
INITS = ["GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal",
         "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros", "Ones", "Constant",
         "Identity"]


@pytest.mark.parametrize("name", INITS)
def test_initializer_distribution_and_config_match_keras(name):
    shape = (200, 300)
    kinit = getattr(keras.initializers, name)()
    finit = getattr(initializers, name)()
    a, b = finit(shape), keras.ops.convert_to_numpy(kinit(shape))
    assert a.shape == b.shape and a.dtype == np.float32
    np.testing.assert_allclose(a.mean(), b.mean(), atol=5e-3)
    np.testing.assert_allclose(a.std(), b.std(), rtol=3e-2, atol=1e-6)
    np.testing.assert_allclose(np.abs(a).max(), np.abs(b).max(), rtol=0.1, atol=1e-6)
    fc = finit.get_config()
    for k, v in kinit.get_config().items():  # Keras's keys and values (we may write more: Identity's gain)
        assert fc[k] == v, (k, fc[k], v)
    assert type(initializers.get(initializers.serialize(finit))) is type(finit)
    assert type(initializers.get(name)) is type(finit)


def test_seeded_initializers_repeat():
    a = initializers.GlorotUniform(seed=3)((4, 5))
    np.testing.assert_array_equal(a, initializers.GlorotUniform(seed=3)((4, 5)))
    assert not np.array_equal(a, initializers.GlorotUniform(seed=4)((4, 5)))
    d = layers.Dense(5, kernel_initializer=initializers.HeNormal(seed=1))
    d(np.zeros((1, 4), np.float32))
    np.testing.assert_array_equal(d.kernel.numpy(), initializers.HeNormal(seed=1)((4, 5)))


def test_initializer_names_and_errors():
    for name in ("lecun_normal", "lecun_uniform", "glorot_normal", "variance_scaling", "constant", "identity",
                 "truncated_normal"):
        assert callable(initializers.get(name))
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sideways")
    with pytest.raises(ValueError, match="two-dimensional"):
        initializers.Orthogonal()((4,))

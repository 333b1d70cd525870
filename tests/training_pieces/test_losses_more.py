"""The added losses against Keras 3 (torch backend) on the same inputs: class values for each reduction,
sample weights, gradients w.r.t. y_pred, the function forms, string aliases and config round trips."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from forgenet import losses  # noqa: E402
from forgenet.autograd import Tensor  # noqa: E402

R = np.random.default_rng(0)
N, C = 6, 4
REG_T, REG_P = R.standard_normal((N, C)).astype(np.float32), R.standard_normal((N, C)).astype(np.float32)
PROB_P = R.dirichlet(np.ones(C), N).astype(np.float32)
ONEHOT = np.eye(C, dtype=np.float32)[R.integers(0, C, N)]
BIN_T = R.integers(0, 2, (N, C)).astype(np.float32)
SIG_P = R.uniform(0.05, 0.95, (N, C)).astype(np.float32)
POS_T, POS_P = R.uniform(0.1, 3, (N, C)).astype(np.float32), R.uniform(0.1, 3, (N, C)).astype(np.float32)

CASES = [
    ("Huber", {}, REG_T, REG_P), ("Huber", {"delta": 0.5}, REG_T, REG_P), ("LogCosh", {}, REG_T, REG_P),
    ("KLDivergence", {}, R.dirichlet(np.ones(C), N).astype(np.float32), PROB_P), ("Poisson", {}, POS_T, POS_P),
    ("CosineSimilarity", {}, REG_T, REG_P), ("Hinge", {}, BIN_T, REG_P), ("SquaredHinge", {}, BIN_T, REG_P),
    ("Hinge", {}, 2 * BIN_T - 1, REG_P), ("CategoricalHinge", {}, ONEHOT, REG_P),
    ("MeanAbsolutePercentageError", {}, REG_T, REG_P), ("MeanSquaredLogarithmicError", {}, POS_T, REG_P),
    ("CategoricalFocalCrossentropy", {}, ONEHOT, PROB_P),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "gamma": 3.0}, ONEHOT, REG_P),
    ("BinaryFocalCrossentropy", {}, BIN_T, SIG_P),
    ("BinaryFocalCrossentropy", {"from_logits": True, "apply_class_balancing": True, "alpha": 0.4}, BIN_T, REG_P),
    ("BinaryFocalCrossentropy", {"label_smoothing": 0.2, "gamma": 1.0}, BIN_T, SIG_P),
    ("Dice", {}, BIN_T, SIG_P), ("Dice", {"axis": -1}, BIN_T, SIG_P), ("Dice", {"axis": [1]}, BIN_T[:, :, None], SIG_P[:, :, None]),
    ("Tversky", {}, BIN_T, SIG_P), ("Tversky", {"alpha": 0.7, "beta": 0.3, "axis": -1}, BIN_T, SIG_P),
    ("Tversky", {"alpha": 0.2, "beta": 0.9, "axis": 1}, BIN_T[:, :1], SIG_P[:, :1]),
]


def _keras_value_and_grad(loss, t, p, sw=None):
    tp = torch.from_numpy(p.copy()).requires_grad_(True)
    v = loss(t, tp, sample_weight=sw)
    v.sum().backward()
    return v.detach().numpy(), tp.grad.numpy()


def _ours_value_and_grad(loss, t, p, sw=None):
    fp = Tensor(p.copy(), requires_grad=True)
    v = loss(t, fp, sample_weight=sw)
    v.sum().backward()
    return np.asarray(v.data), fp.grad


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("name,kw,t,p", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, kw, t, p, reduction):
    kl = getattr(keras.losses, name)(reduction=reduction, **kw)
    fl = getattr(losses, name)(reduction=reduction, **kw)
    kv, kg = _keras_value_and_grad(kl, t, p)
    fv, fg = _ours_value_and_grad(fl, t, p)
    np.testing.assert_allclose(fv, kv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fg, kg, rtol=1e-4, atol=1e-5)
    assert fl.name == kl.name
    ours = fl.get_config()
    for k, v in kl.get_config().items():  # every key Keras writes, with its value (we may write more: Huber's delta)
        if k != "dtype":
            assert ours[k] == v, (k, ours.get(k), v)
    again = getattr(losses, name).from_config(fl.get_config())
    np.testing.assert_allclose(np.asarray(again(t, p).data), np.asarray(fl(t, p).data))


@pytest.mark.parametrize("name,kw,t,p", CASES[:6], ids=[c[0] for c in CASES[:6]])
def test_sample_weight(name, kw, t, p):
    _weighted(name, kw, t, p)


@pytest.mark.parametrize("name,kw", [("Dice", {"axis": -1}), ("Tversky", {"alpha": 0.3, "beta": 0.6, "axis": 1})])
def test_sample_weight_per_sample_overlap_losses(name, kw):
    _weighted(name, kw, BIN_T, SIG_P)


def _weighted(name, kw, t, p):
    sw = R.uniform(0, 2, N).astype(np.float32)
    kv, kg = _keras_value_and_grad(getattr(keras.losses, name)(**kw), t, p, sw)
    fv, fg = _ours_value_and_grad(getattr(losses, name)(**kw), t, p, sw)
    np.testing.assert_allclose(fv, kv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fg, kg, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fn", ["huber", "log_cosh", "kl_divergence", "poisson", "cosine_similarity", "hinge",
                                "squared_hinge", "categorical_hinge", "mean_absolute_percentage_error",
                                "mean_squared_logarithmic_error", "categorical_focal_crossentropy",
                                "binary_focal_crossentropy", "dice", "tversky"])
def test_function_forms(fn):
    t, p = (BIN_T, SIG_P) if "binary" in fn or "hinge" in fn or fn in ("dice", "tversky") else (ONEHOT, PROB_P)
    ours = getattr(losses, fn)(t, p)
    assert isinstance(ours, np.ndarray)
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(getattr(keras.losses, fn)(t, p)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alias", ["huber", "log_cosh", "kld", "kl_divergence", "poisson", "cosine_similarity", "hinge",
                                   "squared_hinge", "categorical_hinge", "mape", "msle",
                                   "categorical_focal_crossentropy", "binary_focal_crossentropy", "dice", "tversky"])
def test_string_aliases(alias):
    got = losses.get(alias)
    assert isinstance(got, losses.Loss)
    kf = keras.losses.get(alias)
    t, p = (BIN_T, SIG_P)
    kv = keras.ops.convert_to_numpy(keras.ops.mean(kf(t, p)) if not isinstance(kf, keras.losses.Loss) else kf(t, p))
    np.testing.assert_allclose(np.asarray(got(t, p).data), kv, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_sparse_ignore_class(from_logits, reduction):
    y = np.array([0, 2, -1, 1, 2, -1], np.int64)
    p = REG_P if from_logits else PROB_P
    kl = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=-1, reduction=reduction)
    fl = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=-1, reduction=reduction)
    kv, kg = _keras_value_and_grad(kl, y, p)
    fv, fg = _ours_value_and_grad(fl, y, p)
    np.testing.assert_allclose(fv, kv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fg, kg, rtol=1e-4, atol=1e-6)
    assert fl.get_config()["ignore_class"] == -1
    f = losses.sparse_categorical_crossentropy(y, p, from_logits=from_logits, ignore_class=-1)
    k = keras.losses.sparse_categorical_crossentropy(y, p, from_logits=from_logits, ignore_class=-1)
    np.testing.assert_allclose(np.asarray(f.data), keras.ops.convert_to_numpy(k), rtol=1e-5, atol=1e-6)

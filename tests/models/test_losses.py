"""Losses against numpy float64 references of Keras 3's formulas and Keras's documented values,
the fused softmax path, finite-difference gradients, reductions and bad targets."""
import numpy as np
import pytest

from forgenet import functional as F
from forgenet import losses
from forgenet.autograd import Tensor, Variable, no_grad

from support import assert_close, numeric_grad

EPS = 1e-7


def probs(rng, *shape):
    p = rng.random(shape) + 0.05
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def ref_ce(t_onehot, p):
    p = p.astype(np.float64)
    q = np.clip((p / p.sum(-1, keepdims=True)).astype(np.float32), np.float32(EPS), np.float32(1 - EPS))
    q = q.astype(np.float64)
    return -(t_onehot * np.log(q)).sum(-1)


def ref_ce_logits(t_onehot, z):
    z = z.astype(np.float64)
    lse = np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1)) + z.max(-1)
    return -(t_onehot * (z - lse[..., None])).sum(-1)


def ref_bce(t, p):
    # clipped in float32 as Keras does: float32(1 - 1e-7) is 1 - 1.19e-7
    p = np.clip(p.astype(np.float32), np.float32(EPS), np.float32(1 - EPS)).astype(np.float64)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)


def value(loss, y, p):
    return float(loss(y, Tensor(p)).data)


def test_keras_documented_values():
    # the examples in the docstrings of keras.losses.*
    y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], np.float32)
    assert value(losses.SparseCategoricalCrossentropy(), np.array([1, 2]), y_pred) == pytest.approx(1.177, abs=1e-3)
    onehot = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
    assert value(losses.CategoricalCrossentropy(), onehot, y_pred) == pytest.approx(1.177, abs=1e-3)
    assert value(losses.BinaryCrossentropy(), np.array([[0, 1], [0, 0]], np.float32),
                 np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)) == pytest.approx(0.815, abs=1e-3)
    assert value(losses.BinaryCrossentropy(from_logits=True), np.array([0, 1, 0, 0], np.float32),
                 np.array([-18.6, 0.51, 2.94, -12.8], np.float32)) == pytest.approx(0.865, abs=1e-3)
    assert value(losses.MeanSquaredError(), np.array([[0, 1], [0, 0]], np.float32),
                 np.array([[1, 1], [1, 0]], np.float32)) == pytest.approx(0.5)
    assert value(losses.MeanAbsoluteError(), np.array([[0, 1], [0, 0]], np.float32),
                 np.array([[1, 1], [1, 0]], np.float32)) == pytest.approx(0.5)


@pytest.mark.parametrize("n, c", [(1, 2), (7, 3), (32, 10)])
def test_crossentropies_match_references(rng, n, c):
    labels = rng.integers(0, c, n)
    onehot = np.eye(c)[labels]
    p = probs(rng, n, c)
    p[0, 0] = 0.0  # a zero probability is clipped, never log(0)
    z = rng.standard_normal((n, c)).astype(np.float32) * 3
    assert_close(value(losses.SparseCategoricalCrossentropy(), labels, p), ref_ce(onehot, p).mean(), rtol=1e-5)
    assert_close(value(losses.CategoricalCrossentropy(), onehot, p), ref_ce(onehot, p).mean(), rtol=1e-5)
    assert_close(value(losses.SparseCategoricalCrossentropy(from_logits=True), labels, z),
                 ref_ce_logits(onehot, z).mean(), rtol=1e-5)
    assert_close(value(losses.CategoricalCrossentropy(from_logits=True), onehot, z),
                 ref_ce_logits(onehot, z).mean(), rtol=1e-5)
    # unnormalised "probabilities" are renormalised first, as Keras does
    assert_close(value(losses.CategoricalCrossentropy(), onehot, p * 3), ref_ce(onehot, p).mean(), rtol=1e-5)
    # labels as (n, 1) and as float ids are accepted
    assert_close(value(losses.SparseCategoricalCrossentropy(), labels[:, None].astype(np.float32), p),
                 ref_ce(onehot, p).mean(), rtol=1e-5)


def test_binary_and_regression_losses_match_references(rng):
    t = (rng.random((9, 3)) > 0.5).astype(np.float32)
    p = rng.random((9, 3)).astype(np.float32)
    p[0, 0], p[1, 1] = 0.0, 1.0
    z = (rng.standard_normal((9, 3)) * 4).astype(np.float32)
    assert_close(value(losses.BinaryCrossentropy(), t, p), ref_bce(t, p).mean(), rtol=1e-5)
    sig = 1 / (1 + np.exp(-z.astype(np.float64)))
    ref = -(t * np.log(sig) + (1 - t) * np.log(1 - sig)).mean()
    assert_close(value(losses.BinaryCrossentropy(from_logits=True), t, z), ref, rtol=1e-5)
    assert_close(value(losses.MeanSquaredError(), t, p), ((p - t.astype(np.float64)) ** 2).mean(), rtol=1e-5)
    assert_close(value(losses.MeanAbsoluteError(), t, p), np.abs(p - t.astype(np.float64)).mean(), rtol=1e-5)
    # (n,) targets against (n, 1) predictions: Keras's squeeze_or_expand_to_same_rank
    assert_close(value(losses.BinaryCrossentropy(), t[:, 0], p[:, :1]), ref_bce(t[:, :1], p[:, :1]).mean(), rtol=1e-5)
    assert_close(value(losses.MeanSquaredError(), t[:, 0], p[:, :1]), ((p[:, 0] - t[:, 0]) ** 2).mean(), rtol=1e-5)
    # label smoothing (Keras: t * (1 - s) + s / 2 for binary, + s / C for categorical)
    assert_close(value(losses.BinaryCrossentropy(label_smoothing=0.2), t, p), ref_bce(t * 0.8 + 0.1, p).mean(),
                 rtol=1e-5)
    onehot = np.eye(3)[[0, 1, 2, 1]]
    q = probs(rng, 4, 3)
    assert_close(value(losses.CategoricalCrossentropy(label_smoothing=0.3), onehot, q),
                 ref_ce(onehot * 0.7 + 0.1, q).mean(), rtol=1e-5)


def test_softmax_output_takes_the_fused_logits_path(rng):
    z = (rng.standard_normal((6, 5)) * 30).astype(np.float32)  # saturated: clipping would distort it
    labels = rng.integers(0, 5, 6)
    onehot = np.eye(5, dtype=np.float32)[labels]
    for loss, target in ((losses.SparseCategoricalCrossentropy(), labels), (losses.CategoricalCrossentropy(), onehot)):
        v = Variable(z.copy())
        out = loss(target, F.softmax(v))
        assert_close(out.data, ref_ce_logits(np.eye(5)[labels], z).mean(), rtol=1e-5)
        out.backward()
        sm = np.exp(z - z.max(-1, keepdims=True))
        sm /= sm.sum(-1, keepdims=True)
        assert_close(v.grad, (sm - np.eye(5)[labels]) / 6, rtol=1e-4, atol=1e-6)
        # the same under no_grad (evaluate): softmax keeps its input for the loss
        with no_grad():
            assert_close(loss(target, F.softmax(Tensor(z))).data, ref_ce_logits(np.eye(5)[labels], z).mean(), rtol=1e-5)


@pytest.mark.parametrize("make, target, kind", [
    (lambda: losses.SparseCategoricalCrossentropy(), lambda r: r.integers(0, 4, 5), "probs"),
    (lambda: losses.CategoricalCrossentropy(), lambda r: np.eye(4, dtype=np.float32)[r.integers(0, 4, 5)], "probs"),
    (lambda: losses.BinaryCrossentropy(), lambda r: (r.random((5, 4)) > 0.5).astype(np.float32), "unit"),
    (lambda: losses.BinaryCrossentropy(from_logits=True), lambda r: r.random((5, 4)).astype(np.float32), "any"),
    (lambda: losses.MeanSquaredError(), lambda r: r.standard_normal((5, 4)).astype(np.float32), "any"),
    (lambda: losses.MeanAbsoluteError(), lambda r: r.standard_normal((5, 4)).astype(np.float32), "any"),
])
def test_gradients_match_finite_differences(rng, make, target, kind):
    loss, t = make(), target(rng)
    x = {"probs": probs(rng, 5, 4), "unit": rng.uniform(0.1, 0.9, (5, 4)).astype(np.float32),
         "any": rng.standard_normal((5, 4)).astype(np.float32)}[kind]
    v = Variable(x.copy())
    loss(t, v).backward()
    x64 = x.astype(np.float64)

    def f():
        with no_grad():
            return float(loss(t, Tensor(x64.astype(np.float32))).data)

    assert_close(v.grad, numeric_grad(f, x64), rtol=2e-2, atol=2e-3)


def test_reductions_and_sample_weight(rng):
    p = probs(rng, 4, 3)
    labels = np.array([0, 1, 2, 1])
    per = ref_ce(np.eye(3)[labels], p)
    assert_close(losses.SparseCategoricalCrossentropy(reduction=None)(labels, Tensor(p)).data, per, rtol=1e-5)
    assert_close(losses.SparseCategoricalCrossentropy(reduction="sum")(labels, Tensor(p)).data, per.sum(), rtol=1e-5)
    w = np.array([1.0, 0.0, 2.0, 1.0], np.float32)
    assert_close(losses.SparseCategoricalCrossentropy()(labels, Tensor(p), sample_weight=w).data, (per * w).sum() / 4,
                 rtol=1e-5)
    assert_close(losses.sparse_categorical_crossentropy(labels, Tensor(p)).data, per, rtol=1e-5)


def test_get_by_name_and_config():
    for name, cls in (("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
                      ("categorical_crossentropy", losses.CategoricalCrossentropy),
                      ("binary_crossentropy", losses.BinaryCrossentropy), ("mse", losses.MeanSquaredError),
                      ("mean_squared_error", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
                      ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy)):
        assert type(losses.get(name)) is cls
    # plain arrays (any float dtype, or lists) work as predictions, as in Keras
    assert losses.get("mse")([[1.0, 2.0]], np.array([[1.0, 4.0]])).data == pytest.approx(2.0)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    clone = losses.get(losses.serialize(loss))
    assert type(clone) is type(loss) and clone.from_logits and clone.get_config() == loss.get_config()
    with pytest.raises(ValueError, match=r"Unknown loss 'no_such_loss'; expected one of \[.*'mse'.*'sparse_categorical"):
        losses.get("no_such_loss")


def test_bad_targets_are_explained(rng):
    p = probs(rng, 4, 3)
    sce = losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: expected integer class ids of shape "
                                         r"\(4,\).*got y_true of shape \(4, 3\) \(one-hot targets need categorical"):
        sce(np.eye(3)[[0, 1, 2, 0]], Tensor(p))
    with pytest.raises(ValueError, match=r"labels must be class ids in \[0, 3\) since y_pred has 3 classes, got 3"):
        sce(np.array([0, 1, 3, 0]), Tensor(p))
    with pytest.raises(ValueError, match=r"got -1"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, -1, 2, 0]), Tensor(p))
    with pytest.raises(ValueError, match="must hold integer class ids"):
        sce(np.array([0.5, 1, 2, 0]), Tensor(p))
    with pytest.raises(ValueError, match=r"categorical_crossentropy: expected one-hot targets of shape \(4, 3\).*"
                                         r"got y_true of shape \(4,\) \(integer class ids need sparse"):
        losses.CategoricalCrossentropy()(np.array([0, 1, 2, 0]), Tensor(p))
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true and y_pred must have the same shape"):
        losses.MeanSquaredError()(np.zeros((4, 2)), Tensor(p))
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="avg")

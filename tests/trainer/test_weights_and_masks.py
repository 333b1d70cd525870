"""Losses and metrics with sample weights and masks give Keras's numbers; autograd.grad gives backward's."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402
from forgenet.autograd import Tensor, Variable, grad  # noqa: E402

from support import assert_close  # noqa: E402


class Masked(Tensor):
    """A Tensor carrying a Keras mask, as a masked layer's output does."""

    __slots__ = ("_keras_mask",)


def ours_pred(p, mask=None):
    t = Masked(p) if mask is not None else Tensor(p)
    if mask is not None:
        t._keras_mask = mask
    return t


def theirs_pred(p, mask=None):
    t = torch.from_numpy(p)
    if mask is not None:
        keras.src.backend.set_keras_mask(t, torch.from_numpy(mask))
    return t


def cases(rng):
    n, t, c = 5, 4, 3
    logits = rng.standard_normal((n, t, c)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    ids = rng.integers(0, c, (n, t))
    onehot = np.eye(c, dtype=np.float32)[ids]
    reg = rng.standard_normal((n, t, c)).astype(np.float32)
    return [("SparseCategoricalCrossentropy", {}, ids, probs), ("CategoricalCrossentropy", {}, onehot, probs),
            ("CategoricalCrossentropy", {"from_logits": True}, onehot, logits),
            ("BinaryCrossentropy", {}, (reg > 0).astype(np.float32), 1 / (1 + np.exp(-logits))),
            ("MeanSquaredError", {}, reg, logits), ("MeanAbsoluteError", {}, reg, logits)]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", None])
@pytest.mark.parametrize("weights", ["none", "per_sample", "per_sample_col", "per_step"])
@pytest.mark.parametrize("masked", [False, True])
def test_losses_weight_and_mask_like_keras(rng, reduction, weights, masked):
    mask = (rng.random((5, 4)) > 0.3) if masked else None
    sw = {"none": None, "per_sample": rng.random(5).astype(np.float32),
          "per_sample_col": rng.random((5, 1)).astype(np.float32),
          "per_step": rng.random((5, 4)).astype(np.float32)}[weights]
    for cls, kw, y, p in cases(rng):
        if weights.startswith("per_sample"):  # one weight per sample: per-sample losses, not per step
            y, p, m = y[:, 0], p[:, 0], None if mask is None else mask[:, 0]
        else:
            m = mask
        theirs = getattr(keras.losses, cls)(reduction=reduction, **kw)(
            y, theirs_pred(p, m), None if sw is None else torch.from_numpy(sw.copy()))  # Keras scales it in place
        ours = getattr(forgenet.losses, cls)(reduction=reduction, **kw)(y, ours_pred(p, m), sw)
        assert_close(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=2e-5, atol=1e-6,
                     what=f"{cls} {reduction} {weights} masked={masked}")


@pytest.mark.parametrize("masked", [False, True])
def test_metrics_weight_and_mask_like_keras(rng, masked):
    y = rng.standard_normal((6, 3, 2)).astype(np.float32)
    p = rng.standard_normal((6, 3, 2)).astype(np.float32)
    mask = (rng.random((6, 3)) > 0.4) if masked else None
    weights = [None, rng.random((6, 3)).astype(np.float32)] + ([] if masked else [rng.random(6).astype(np.float32)])
    for sw in weights:  # (Keras cannot combine a (n, steps) mask with one weight per sample)
        theirs, ours = keras.metrics.MeanSquaredError(), forgenet.metrics.MeanSquaredError()
        for lo, hi in ((0, 4), (4, 6)):  # two batches: the running mean is weighted across them
            s = None if sw is None else sw[lo:hi]
            theirs.update_state(y[lo:hi], theirs_pred(p[lo:hi], None if mask is None else mask[lo:hi]),
                                None if s is None else torch.from_numpy(s.copy()))
            ours.update_state(y[lo:hi], ours_pred(p[lo:hi], None if mask is None else mask[lo:hi]), s)
        assert float(ours.result()) == pytest.approx(float(theirs.result()), rel=1e-5)
    acc_t, acc_o = keras.metrics.SparseCategoricalAccuracy(), forgenet.metrics.SparseCategoricalAccuracy()
    ids, w = rng.integers(0, 2, (6, 3)), rng.random((6, 3)).astype(np.float32)
    acc_t.update_state(ids, theirs_pred(p, mask), torch.from_numpy(w.copy()))
    acc_o.update_state(ids, ours_pred(p, mask), w)
    assert float(acc_o.result()) == pytest.approx(float(acc_t.result()), rel=1e-5)


def test_grad_matches_backward_and_leaves_grads_alone(rng):
    a = Variable(rng.standard_normal((3, 4)).astype(np.float32), name="a")
    b = Variable(rng.standard_normal((4,)).astype(np.float32), name="b")
    unused = Variable(np.ones(2, np.float32), name="unused")
    x = Tensor(rng.standard_normal((5, 3)).astype(np.float32))

    def loss():
        h = forgenet.functional.matmul(x, a) + b
        return forgenet.functional.sum(h * h)

    b.grad = np.full(4, 7.0, np.float32)  # a stale gradient grad() must neither read nor change
    ga, gb, gu = grad(loss(), [a, b, unused])
    assert gu is None and np.all(b.grad == 7.0) and a.grad is None
    b.grad = None
    loss().backward()
    assert_close(ga, a.grad, rtol=1e-6)
    assert_close(gb, b.grad, rtol=1e-6)
    h = x.numpy() @ a.numpy() + b.numpy()
    assert_close(gb, 2 * h.sum(0), rtol=1e-5)
    with pytest.raises(ValueError, match="grad: loss must be a scalar"):
        grad(forgenet.functional.matmul(x, a), [a])
    with pytest.raises(TypeError, match="grad: variables must be Tensors"):
        grad(loss(), [np.ones(3)])

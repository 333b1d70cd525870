import numpy as np
import pytest

from forgenet import _C, kernels

from support import assert_close


def ref_softmax(x, axis=-1):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape,axis", [((1, 1), -1), ((7, 10), -1), ((3, 1000), 1), ((2, 5, 9), 1), ((4, 3, 2), 0)])
def test_softmax_matches_reference(rng, shape, axis):
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    assert_close(kernels.softmax(x, axis=axis), ref_softmax(x, axis), rtol=1e-5, atol=1e-7)


def test_softmax_large_logits_stay_finite():
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    y = kernels.softmax(x)
    assert np.all(np.isfinite(y)) and abs(y[0, 0] - 1) < 1e-6


def test_softmax_backward_matches_finite_differences(rng):
    x = rng.standard_normal((3, 6))
    dy = rng.standard_normal((3, 6))
    y = kernels.softmax(x.astype(np.float32))
    dx = kernels.softmax_backward(dy.astype(np.float32), y)
    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = ((ref_softmax(xp) - ref_softmax(xm)) * dy).sum() / (2 * eps)
    assert_close(dx, num, rtol=1e-3, atol=1e-5)


def ref_xent(logits, target):
    p = ref_softmax(logits)
    if target.ndim == 1:
        t = np.eye(logits.shape[1])[target]
    else:
        t = target.astype(np.float64)
    return -(t * np.log(p)).sum(1), p - t


@pytest.mark.parametrize("n,c", [(1, 1), (1, 10), (33, 10), (64, 257)])
def test_softmax_cross_entropy_sparse_and_dense(rng, n, c):
    x = (rng.standard_normal((n, c)) * 3).astype(np.float32)
    labels = rng.integers(0, c, n)
    loss, grad = kernels.softmax_cross_entropy(x, labels)
    rl, rg = ref_xent(x, labels)
    assert_close(loss, rl, rtol=1e-5, atol=1e-5)
    assert_close(grad, rg, rtol=1e-5, atol=1e-6)
    t = rng.random((n, c)).astype(np.float32)
    t /= t.sum(1, keepdims=True)
    loss, grad = kernels.softmax_cross_entropy(x, t)
    rl, rg = ref_xent(x, t)
    assert_close(loss, rl, rtol=1e-5, atol=1e-5)
    assert_close(grad, rg, rtol=1e-5, atol=1e-6)


def test_softmax_cross_entropy_gradient_is_finite_difference(rng):
    x = rng.standard_normal((2, 4))
    labels = np.array([3, 0])
    _, grad = kernels.softmax_cross_entropy(x.astype(np.float32), labels)
    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (ref_xent(xp, labels)[0].sum() - ref_xent(xm, labels)[0].sum()) / (2 * eps)
    assert_close(grad, num, rtol=1e-4, atol=1e-5)


def test_labels_out_of_range_raise(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: labels must be in \[0, 4\), got 4"):
        kernels.softmax_cross_entropy(x, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match="softmax_cross_entropy: labels must be in"):
        _C.softmax_cross_entropy(x, np.array([0, -1, 2]))  # the C++ side checks too


@pytest.mark.parametrize("bad,exc,msg", [
    (np.zeros((2, 3)), TypeError, "softmax: x must be float32, got float64"),
    (np.zeros((2, 3), np.int32), TypeError, "softmax: x must be float32, got int32"),
])
def test_softmax_rejects_wrong_dtype(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        kernels.softmax(bad)
    with pytest.raises(exc, match=msg):
        _C.softmax(bad)


def test_c_side_rejects_noncontiguous_and_mismatched(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    with pytest.raises(ValueError, match="softmax: x must be C-contiguous"):
        _C.softmax(x[:, ::2])
    assert_close(kernels.softmax(x[:, ::2]), ref_softmax(x[:, ::2]), rtol=1e-5, atol=1e-7)  # ops copies
    with pytest.raises(ValueError, match="labels must have shape"):
        kernels.softmax_cross_entropy(x, np.array([1, 2]))
    with pytest.raises(ValueError, match="target must have the shape of logits"):
        kernels.softmax_cross_entropy(x, np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        kernels.softmax(x, axis=2)


def test_nan_flows_through_without_crash():
    x = np.array([[1.0, np.nan, 0.0], [1.0, 2.0, 3.0]], np.float32)
    y = kernels.softmax(x)
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    loss, grad = kernels.softmax_cross_entropy(x, np.array([0, 1]))
    assert np.isnan(loss[0]) and np.isfinite(loss[1])


def test_empty_batch():
    loss, grad = kernels.softmax_cross_entropy(np.zeros((0, 10), np.float32), np.zeros(0, np.int64))
    assert loss.shape == (0,) and grad.shape == (0, 10)
    assert kernels.softmax(np.zeros((0, 10), np.float32)).shape == (0, 10)

"""kernels.batch_norm / batch_norm_inference / batch_norm_backward against float64 references and
finite differences, over channels-last, channels-first and middle axes."""
import numpy as np
import pytest

from forgenet import _C, kernels

from support import assert_close


def _bshape(x, axis):
    s = [1] * x.ndim
    s[axis] = x.shape[axis]
    return s


def ref_batch_norm(x, gamma, beta, axis, eps, mean=None, var=None):
    x = np.asarray(x, np.float64)
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    if mean is None:
        mean, var = x.mean(axes), x.var(axes)
    b = _bshape(x, axis)
    y = (x - np.reshape(mean, b)) / np.sqrt(np.reshape(var, b) + eps) * np.reshape(gamma, b) + np.reshape(beta, b)
    return y, mean, var


def ref_backward(dy, x, gamma, axis, eps, training, mean=None, var=None):
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    if mean is None:
        mean, var = x.mean(axes), x.var(axes)
    b = _bshape(x, axis)
    rs = 1 / np.sqrt(np.reshape(var, b) + eps)
    xh = (x - np.reshape(mean, b)) * rs
    dg, db = (dy * xh).sum(axes), dy.sum(axes)
    n = x.size / x.shape[axis]
    if training:
        dx = np.reshape(gamma, b) * rs * (dy - np.reshape(db, b) / n - xh * np.reshape(dg, b) / n)
    else:
        dx = np.reshape(gamma, b) * rs * dy
    return dx, dg, db


CASES = [((64, 16), -1), ((4, 5, 6, 8), -1), ((4, 8, 5, 6), 1), ((3, 7, 5), 1), ((1, 3), -1), ((9,), 0),
         ((2, 3, 300), -1), ((300, 2, 3), 0)]


@pytest.mark.parametrize("shape,axis", CASES)
@pytest.mark.parametrize("offset", [0.0, 100.0])
def test_training_forward_and_backward_match_float64(rng, shape, axis, offset):
    x = (rng.standard_normal(shape) * 2 + offset).astype(np.float32)
    c = shape[axis]
    gamma, beta = rng.uniform(0.5, 1.5, c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    y, mean, var = kernels.batch_norm(x, gamma, beta, axis=axis, epsilon=1e-3)
    ry, rm, rv = ref_batch_norm(x, gamma, beta, axis, 1e-3)
    tol = 1e-4 * (1 + offset / 10)  # |mean| >> std: float32 inputs themselves carry ~offset * 6e-8
    assert_close(y, ry, rtol=1e-4, atol=tol, what="y")
    assert_close(mean, rm, rtol=1e-6, atol=1e-5, what="mean")
    assert_close(var, rv, rtol=1e-4, atol=1e-5 * (1 + offset), what="variance")
    dy = rng.standard_normal(shape).astype(np.float32)
    for training in (True, False):
        got = kernels.batch_norm_backward(dy, x, gamma, mean, var, axis=axis, epsilon=1e-3, training=training)
        want = ref_backward(dy, x, gamma, axis, 1e-3, training, mean.astype(np.float64), var.astype(np.float64))
        for g, w, what in zip(got, want, ("dx", "dgamma", "dbeta")):
            assert_close(g, w, rtol=1e-3, atol=1e-4 * (1 + offset / 10), what=f"{what} training={training}")


@pytest.mark.parametrize("shape,axis", CASES[:4])
def test_inference_matches_float64(rng, shape, axis):
    x = rng.standard_normal(shape).astype(np.float32)
    c = shape[axis]
    gamma, beta = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    mean, var = rng.standard_normal(c).astype(np.float32), rng.uniform(0.1, 3, c).astype(np.float32)
    y = kernels.batch_norm_inference(x, gamma, beta, mean, var, axis=axis, epsilon=1e-2)
    assert_close(y, ref_batch_norm(x, gamma, beta, axis, 1e-2, mean, var)[0], rtol=1e-5, atol=1e-5)


def test_backward_matches_finite_differences(rng):
    # d/dx of sum(r * y) through the batch statistics, in float64 by central differences
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 1.5, 3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    r = rng.standard_normal(x.shape)
    _, mean, var = kernels.batch_norm(x, gamma, beta, axis=1)
    dx, dg, db = kernels.batch_norm_backward(r.astype(np.float32), x, gamma, mean, var, axis=1)
    f = lambda xx, gg, bb: (ref_batch_norm(xx, gg, bb, 1, 1e-3)[0] * r).sum()  # noqa: E731
    x64, g64, b64 = x.astype(np.float64), gamma.astype(np.float64), beta.astype(np.float64)
    for arr, got, what in ((x64, dx, "dx"), (g64, dg, "dgamma"), (b64, db, "dbeta")):
        num = np.zeros(arr.shape)
        for idx in np.ndindex(*arr.shape):
            old = arr[idx]
            arr[idx] = old + 1e-5
            fp = f(x64, g64, b64)
            arr[idx] = old - 1e-5
            fm = f(x64, g64, b64)
            arr[idx] = old
            num[idx] = (fp - fm) / 2e-5
        assert_close(got, num, rtol=1e-3, atol=1e-4, what=what)


def test_none_gamma_beta_and_thread_independence(rng):
    x = rng.standard_normal((200, 40, 8)).astype(np.float32)  # large enough to run threaded
    y, m, v = kernels.batch_norm(x, None, None, axis=-1)
    assert_close(y, ref_batch_norm(x, np.ones(8), np.zeros(8), -1, 1e-3)[0], rtol=1e-4, atol=1e-4)
    n = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        y1 = kernels.batch_norm(x, None, None, axis=-1)[0]
    finally:
        _C.set_num_threads(n)
    assert_close(y1, y, rtol=1e-5, atol=1e-5)


def test_bad_inputs():
    x, g = np.zeros((4, 3), np.float32), np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"batch_norm: axis 2 is out of range for x of shape \(4, 3\)"):
        kernels.batch_norm(x, g, g, axis=2)
    with pytest.raises(ValueError, match=r"batch_norm: gamma must have shape \(3,\) to match x \(4, 3\) on its channel axis, got \(2,\)"):
        kernels.batch_norm(x, g[:2], g)
    with pytest.raises(TypeError, match="batch_norm: x must be float32, got float64"):
        kernels.batch_norm(x.astype(np.float64), g, g)
    with pytest.raises(ValueError, match="batch_norm: epsilon must be >= 0, got -1"):
        kernels.batch_norm(x, g, g, epsilon=-1)
    with pytest.raises(TypeError, match="batch_norm: epsilon must be a real number, got str"):
        kernels.batch_norm(x, g, g, epsilon="1e-3")
    with pytest.raises(TypeError, match="batch_norm: axis must be an int, got float"):
        kernels.batch_norm(x, g, g, axis=1.0)
    with pytest.raises(ValueError, match=r"batch_norm: axis 2 is out of range for x of shape \(4, 3\)"):
        kernels.batch_norm(x, None, None, axis=2)  # the None fill does not hide the contract's message
    with pytest.raises(ValueError, match="batch_norm: x must have rank >= 1, got a scalar"):
        kernels.batch_norm(np.float32(1.0), g, g)
    with pytest.raises(ValueError, match=r"batch_norm_backward: dy must have the shape of x \(4, 3\)"):
        kernels.batch_norm_backward(x[:2], x, g, g, g)
    # the binding checks again for direct callers
    with pytest.raises(ValueError, match=r"batch_norm_inference: variance must have shape \(3,\)"):
        _C.batch_norm_inference(x, g, g, g, g[:1].copy(), -1, 1e-3)

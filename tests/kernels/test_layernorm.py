import numpy as np
import pytest

from forgenet import _C, kernels

from support import assert_close


def ref_layer_norm(x, gamma, beta, eps=1e-3):
    x = np.asarray(x, np.float64)
    m = x.mean(-1, keepdims=True)
    rstd = 1 / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps)
    return (x - m) * rstd * gamma + beta, m[..., 0], rstd[..., 0]


def ref_layer_norm_backward(dy, x, gamma, eps=1e-3):
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    _, m, rstd = ref_layer_norm(x, gamma, 0.0, eps)
    xh = (x - m[..., None]) * rstd[..., None]
    g = dy * gamma
    dx = rstd[..., None] * (g - g.mean(-1, keepdims=True) - xh * (g * xh).mean(-1, keepdims=True))
    axes = tuple(range(x.ndim - 1))
    return dx, (dy * xh).sum(axes), dy.sum(axes)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (2, 5, 64), (4096, 33), (8, 3, 1000), (17,)])
@pytest.mark.parametrize("eps", [1e-3, 1e-6])
def test_matches_float64_reference(rng, shape, eps):
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    gamma = rng.standard_normal(shape[-1]).astype(np.float32)
    beta = rng.standard_normal(shape[-1]).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    y, mean, rstd = kernels.layer_norm(x, gamma, beta, epsilon=eps)
    ry, rm, rr = ref_layer_norm(x, gamma, beta, eps)
    assert_close(y, ry, rtol=1e-4, atol=1e-4, what="y")
    assert_close(mean, rm, rtol=1e-5, atol=1e-5, what="mean")
    assert_close(rstd, rr, rtol=1e-4, atol=1e-5, what="rstd")
    dx, dg, db = kernels.layer_norm_backward(dy, x, gamma, mean, rstd)
    rdx, rdg, rdb = ref_layer_norm_backward(dy, x, gamma, eps)
    assert_close(dx, rdx, rtol=1e-3, atol=1e-4, what="dx")
    assert_close(dg, rdg, rtol=1e-4, atol=1e-3, what="dgamma")
    assert_close(db, rdb, rtol=1e-4, atol=1e-3, what="dbeta")


def test_large_offset_keeps_precision(rng):
    x = (rng.standard_normal((4, 256)) + 1e4).astype(np.float32)
    y, _, _ = kernels.layer_norm(x, np.ones(256, np.float32), np.zeros(256, np.float32))
    assert_close(y, ref_layer_norm(x, 1.0, 0.0)[0], rtol=1e-2, atol=2e-3)


def test_none_gamma_beta_mean_identity_affine(rng):
    x = rng.standard_normal((5, 9)).astype(np.float32)
    y, _, _ = kernels.layer_norm(x, None, None)
    assert_close(y, ref_layer_norm(x, 1.0, 0.0)[0], rtol=1e-4, atol=1e-5)


def test_gradients_match_finite_differences(rng):
    x = rng.standard_normal((3, 5))
    gamma, beta, dy = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal((3, 5))
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    _, mean, rstd = kernels.layer_norm(f32(x), f32(gamma), f32(beta))
    dx, dg, db = kernels.layer_norm_backward(f32(dy), f32(x), f32(gamma), mean, rstd)
    for arr, got in ((x, dx), (gamma, dg), (beta, db)):
        num, eps = np.zeros_like(arr), 1e-6
        for idx in np.ndindex(*arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = (ref_layer_norm(x, gamma, beta)[0] * dy).sum()
            arr[idx] = old - eps
            down = (ref_layer_norm(x, gamma, beta)[0] * dy).sum()
            arr[idx] = old
            num[idx] = (up - down) / (2 * eps)
        assert_close(got, num, rtol=1e-3, atol=1e-4)


def test_constant_rows_and_empty_inputs():
    y, mean, rstd = kernels.layer_norm(np.full((2, 4), 3.0, np.float32), np.ones(4, np.float32), np.zeros(4, np.float32))
    assert not y.any() and np.allclose(mean, 3.0) and np.allclose(rstd, 1 / np.sqrt(1e-3))
    y, mean, rstd = kernels.layer_norm(np.zeros((0, 4), np.float32), np.ones(4, np.float32), np.zeros(4, np.float32))
    assert y.shape == (0, 4) and mean.shape == (0,)
    dx, dg, db = kernels.layer_norm_backward(y, y, np.ones(4, np.float32), mean, rstd)
    assert dx.shape == (0, 4) and not dg.any() and not db.any()


def test_nan_row_stays_nan(rng):
    x = rng.standard_normal((3, 8)).astype(np.float32)
    x[1, 2] = np.nan
    y, _, _ = kernels.layer_norm(x, np.ones(8, np.float32), np.zeros(8, np.float32))
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()


def test_bad_inputs_raise(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    g, b = np.ones(6, np.float32), np.zeros(6, np.float32)
    with pytest.raises(TypeError, match="layer_norm: x must be float32, got float64"):
        kernels.layer_norm(x.astype(np.float64), g, b)
    with pytest.raises(ValueError, match=r"layer_norm: gamma must have shape \(6,\) to match x \(4, 6\), got \(5,\)"):
        kernels.layer_norm(x, g[:5], b)
    with pytest.raises(ValueError, match=r"layer_norm: beta must have rank 1"):
        kernels.layer_norm(x, g, b[None])
    with pytest.raises(ValueError, match="layer_norm: x must have rank >= 1, got a scalar"):
        kernels.layer_norm(np.float32(1.0), g, b)
    with pytest.raises(TypeError, match="layer_norm: epsilon must be a real number, got str"):
        kernels.layer_norm(x, g, b, epsilon="0.1")
    with pytest.raises(ValueError, match="layer_norm: epsilon must be >= 0, got -1"):
        kernels.layer_norm(x, g, b, epsilon=-1.0)
    _, mean, rstd = kernels.layer_norm(x, g, b)
    with pytest.raises(ValueError, match=r"layer_norm_backward: dy must have the shape of x \(4, 6\)"):
        kernels.layer_norm_backward(x[:3], x, g, mean, rstd)
    with pytest.raises(ValueError, match=r"layer_norm_backward: mean and rstd must have shape x.shape\[:-1\] for x \(4, 6\), got \(4,\) and \(2,\)"):
        kernels.layer_norm_backward(x, x, g, mean, rstd[:2])
    with pytest.raises(ValueError, match=r"layer_norm: gamma must have shape \(6,\) to match x \(4, 6\), got \(3,\)"):
        _C.layer_norm(x, g[:3], b, 1e-3)
    with pytest.raises(ValueError, match=r"layer_norm_backward: mean and rstd must have shape x.shape\[:-1\]"):
        _C.layer_norm_backward(x, x, g, mean[:2].copy(), rstd)

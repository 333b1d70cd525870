import numpy as np
import pytest

from forgenet import initializers


@pytest.mark.parametrize("shape", [(7, 7), (128, 512), (512, 128), (3, 2, 5), (1, 4)])
def test_orthogonal_is_orthonormal(shape):
    w = initializers.orthogonal(shape).astype(np.float64).reshape(-1, shape[-1])
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-6)
    assert initializers.orthogonal(shape).shape == shape


def test_orthonormal_columns_is_qr_with_positive_diagonal(rng):
    a = rng.standard_normal((9, 5))
    q, r = np.linalg.qr(a)  # LAPACK is fine here: tests are where references live
    q *= np.sign(np.diag(r))
    np.testing.assert_allclose(initializers._orthonormal_columns(a), q, atol=1e-12)


@pytest.mark.parametrize("name,shape,limit", [("glorot_uniform", (30, 20), np.sqrt(6 / 50)),
                                              ("he_uniform", (3, 3, 4, 8), np.sqrt(6 / 36))])
def test_uniform_limits(name, shape, limit):
    w = initializers.get(name)(shape)
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.8 * limit


def test_unknown_initializer():
    with pytest.raises(ValueError, match="Unknown initializer 'nope'"):
        initializers.get("nope")

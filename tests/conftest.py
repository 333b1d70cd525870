import os
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path | None:
    """../shared/data beside the checkout (or $FORGENET_SHARED_DATA), None when absent."""
    env = os.environ.get("FORGENET_SHARED_DATA")
    for cand in ([pathlib.Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same forgenet seed, so layer weights (and any finite-difference
    check through them) are the same run after run."""
    import forgenet

    forgenet.utils.set_random_seed(1234)


@pytest.fixture
def shared_data():
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data is not present on this machine")
    return d


def assert_close(actual, expected, *, rtol=1e-4, atol=1e-5, what=""):
    """Compare a float32 result against a float64 reference, with a message that says where."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def numeric_grad(f, a, eps=1e-3):
    """d f() / d a by central differences, perturbing `a` in place (f reads `a`)."""
    g = np.zeros(a.shape, np.float64)
    for idx in np.ndindex(*a.shape):
        old = a[idx]
        a[idx] = old + eps
        fp = f()
        a[idx] = old - eps
        fm = f()
        a[idx] = old
        g[idx] = (fp - fm) / (2 * eps)
    return g

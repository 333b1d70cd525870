"""Checks shared by the test files: float64-reference comparison and central differences.

A module of its own (not conftest.py): tests/gpu and tests/cuda_emu have conftest.py files too, and
`from conftest import ...` would find whichever of them was imported last.
"""
import numpy as np


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

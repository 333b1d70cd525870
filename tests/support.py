"""Checks shared by the test files: float64-reference comparison, central differences, and the
references the CPU and GPU tests of one op both use.

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


def ufunc_adam(xp, var, g, m, v, vhat, alpha, b1, b2, eps):
    """The ufunc code Adam.update_step ran before the fused kernel (float32, in place; xp numpy or CuPy)."""
    a, b = xp.empty_like(var), xp.empty_like(var)
    xp.subtract(g, m, out=a)
    a *= 1 - b1
    m += a
    xp.multiply(g, g, out=a)
    a -= v
    a *= 1 - b2
    v += a
    if vhat is not None:
        v = xp.maximum(vhat, v, out=vhat)
    xp.multiply(m, alpha, out=a)
    xp.sqrt(v, out=b)
    b += eps
    a /= b
    var -= a


def adam_ref64(var, g, m, v, vhat, alpha, b1, b2, eps):
    var, g, m, v = (x.astype(np.float64) for x in (var, g, m, v))
    m = m + (g - m) * (1 - b1)
    v = v + (g * g - v) * (1 - b2)
    vv = v if vhat is None else np.maximum(vhat.astype(np.float64), v)
    return var - m * alpha / (np.sqrt(vv) + eps), m, v, vv


def ufunc_sgd(xp, var, g, m, lr, momentum, nesterov):
    """SGD.update_step's ufunc code before the fused kernel (float32, in place)."""
    step = xp.multiply(g, lr)
    if m is None:
        var -= step
        return
    m *= momentum
    m -= step
    if nesterov:
        t = xp.multiply(m, momentum)
        t -= step
        var += t
    else:
        var += m


def ufunc_rmsprop(xp, var, g, v, avg, mom, lr, rho, momentum, eps):
    """RMSprop.update_step's ufunc code before the fused kernel (float32, in place)."""
    a, b = xp.empty_like(var), xp.empty_like(var)
    v *= rho
    xp.multiply(g, g, out=a)
    a *= 1 - rho
    v += a
    if avg is not None:
        avg *= rho
        xp.multiply(g, 1 - rho, out=a)
        avg += a
        xp.multiply(avg, avg, out=b)
        xp.subtract(v, b, out=b)
        b += eps
    else:
        xp.add(v, eps, out=b)
    xp.sqrt(b, out=b)
    xp.multiply(g, lr, out=a)
    a /= b
    if mom is not None:
        mom *= momentum
        mom += a
        var -= mom
    else:
        var -= a


class CpuCapsule:
    """A bare DLPack capsule (what the torch adapter hands _C) as an object np.from_dlpack takes."""

    def __init__(self, capsule):
        self._c = capsule

    def __dlpack__(self, stream=None, **_):
        return self._c

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU

"""forgenet.kernels.adam_update (the fused Adam step) against a float64 reference and against the numpy
ufunc code it replaced (bit for bit on the default build), bad inputs at both layers (ops and _C), and
Adam / AdamW through the optimizer API against that ufunc code over several steps."""
import math

import numpy as np
import pytest

from forgenet import _C, kernels, optimizers
from forgenet.autograd import Variable
from support import ufunc_adam, ufunc_rmsprop, ufunc_sgd
from support import adam_ref64 as ref64

SHAPES = [(0,), (1,), (7,), (5, 3), (2, 3, 5), (1001,), (513, 517), (1025, 1031)]  # the last: in parallel chunks


def state(rng, shape, amsgrad):
    var, g, m = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    v = rng.uniform(0, 2, shape).astype(np.float32)
    vhat = rng.uniform(0, 2, shape).astype(np.float32) if amsgrad else None
    return var, g, m, v, vhat


def copies(*arrays):
    return [None if a is None else a.copy() for a in arrays]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_update_matches_reference_and_ufuncs(rng, shape, amsgrad):
    var, g, m, v, vhat = state(rng, shape, amsgrad)
    args = (1.3e-3, 0.9, 0.999, 1e-7)
    want, wm, wv, wvv = ref64(var, g, m, v, vhat, *args)
    old = copies(var, g, m, v, vhat)
    ufunc_adam(np, *old, *args)
    g0 = g.copy()
    assert kernels.adam_update(var, g, m, v, vhat, *args) is None
    np.testing.assert_array_equal(g, g0)  # the gradient is only read
    np.testing.assert_allclose(m, wm, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(v, wv, rtol=1e-6, atol=1e-7)
    if amsgrad:
        np.testing.assert_allclose(vhat, wvv, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(var, want, rtol=1e-6, atol=1e-6)
    # the same float32 operations in the same order as the ufunc code: equal up to fma contraction
    for ours, theirs in zip((var, m, v, vhat), (old[0], old[2], old[3], old[4])):
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=2e-7, atol=1e-9)


def test_adam_update_non_finite_like_numpy():
    """NaN and inf travel as in the ufunc code: numpy.maximum propagates NaN from either side."""
    g = np.array([np.nan, 1, 2, np.inf, 0, -1], np.float32)
    var = np.array([1, np.nan, 1, 1, 1, 1], np.float32)
    m = np.zeros(6, np.float32)
    v = np.array([0, 0, np.nan, 0, 0, 1], np.float32)
    vhat = np.array([0, 0, 0, 0, np.nan, 0.5], np.float32)
    args = (1e-2, 0.9, 0.999, 1e-7)
    old = copies(var, g, m, v, vhat)
    with np.errstate(invalid="ignore"):
        ufunc_adam(np, *old, *args)
    kernels.adam_update(var, g, m, v, vhat, *args)
    for ours, theirs in zip((var, m, v, vhat), (old[0], old[2], old[3], old[4])):
        np.testing.assert_array_equal(ours, theirs)


def test_adam_update_zero_step_and_extreme_betas(rng):
    var, g, m, v, _ = state(rng, (9,), False)
    w0 = var.copy()
    kernels.adam_update(var, g, m, v, None, 0.0, 0.0, 0.0, 0.0)  # alpha 0: moments move, weights do not
    np.testing.assert_array_equal(var, w0)
    np.testing.assert_allclose(m, g, rtol=1e-6, atol=1e-6)  # m + (g - m) * 1, so not exactly g
    np.testing.assert_allclose(v, g * g, rtol=1e-6, atol=1e-6)


def _good(rng, shape=(4, 3)):
    var, g, m, v, vhat = state(rng, shape, True)
    return dict(var=var, grad=g, m=m, v=v, vhat=vhat)


def _call(fn, a):
    return fn(a["var"], a["grad"], a["m"], a["v"], a["vhat"], 1e-3, 0.9, 0.999, 1e-7)


def _readonly(x):
    x.flags.writeable = False
    return x


BAD = [  # (change, exception, message): the same at both layers
    (lambda a: {"var": a["var"].astype(np.float64)}, TypeError, "adam_update: var must be float32, got float64"),
    (lambda a: {"grad": a["grad"].astype(np.float16)}, TypeError, "adam_update: grad must be float32"),
    (lambda a: {"m": a["m"].astype(np.int64)}, TypeError, "adam_update: m must be float32"),
    (lambda a: {"vhat": a["vhat"].astype(np.float64)}, TypeError, "adam_update: vhat must be float32"),
    (lambda a: {"v": np.zeros((3, 4), np.float32)}, ValueError, r"adam_update: v must have the shape of var \(4, 3\)"),
    (lambda a: {"grad": np.zeros((12,), np.float32)}, ValueError, "adam_update: grad must have the shape of var"),
    (lambda a: {"vhat": np.zeros((4, 3, 1), np.float32)}, ValueError, "adam_update: vhat must have the shape of var"),
    (lambda a: {"m": np.zeros((3, 4), np.float32).T}, ValueError, "adam_update: m must be C-contiguous"),
    (lambda a: {"var": np.zeros((3, 4), np.float32).T}, ValueError, "adam_update: var must be C-contiguous"),
    (lambda a: {"v": _readonly(a["v"])}, ValueError, "adam_update: v must be writeable"),
    (lambda a: {"var": _readonly(a["var"])}, ValueError, "adam_update: var must be writeable"),
]


@pytest.mark.parametrize("change, exc, match", BAD)
def test_adam_update_rejects_bad_arrays(rng, change, exc, match):
    a = _good(rng)
    a.update(change(a))
    before = {k: x.copy() for k, x in a.items()}
    with pytest.raises(exc, match=match):
        _call(kernels.adam_update, a)
    with pytest.raises(exc, match=match):
        _call(_C.adam_update, a)
    for k, x in a.items():
        np.testing.assert_array_equal(x, before[k], err_msg=f"{k} changed by a rejected call")


def test_adam_update_other_bad_arguments(rng):
    a = _good(rng)
    # var and the slots are updated in place, so never converted: a list is refused (by the contract)
    with pytest.raises(TypeError, match="adam_update: var must be a numpy array, got list"):
        kernels.adam_update([1.0], a["grad"], a["m"], a["v"], None, 1e-3, 0.9, 0.999, 1e-7)
    with pytest.raises(TypeError, match="adam_update: var must be a numpy array, got list"):
        _C.adam_update([1.0], a["grad"], a["m"], a["v"], None, 1e-3, 0.9, 0.999, 1e-7)
    with pytest.raises(TypeError, match="adam_update: alpha must be a real number"):
        kernels.adam_update(a["var"], a["grad"], a["m"], a["v"], None, "1e-3", 0.9, 0.999, 1e-7)
    with pytest.raises(TypeError):
        _C.adam_update(a["var"], a["grad"], a["m"], a["v"], None, "1e-3", 0.9, 0.999, 1e-7)
    # a strided gradient is fine at the ops layer (copied: it is only read), refused by _C
    g = np.asfortranarray(a["grad"])
    kernels.adam_update(a["var"], g, a["m"], a["v"], None, 1e-3, 0.9, 0.999, 1e-7)
    with pytest.raises(ValueError, match="adam_update: grad must be C-contiguous"):
        _C.adam_update(a["var"], g, a["m"], a["v"], None, 1e-3, 0.9, 0.999, 1e-7)


@pytest.mark.parametrize("fn", [kernels.adam_update, _C.adam_update])
def test_adam_update_refuses_shared_memory(rng, fn):
    a = _good(rng, (10,))
    m = a["m"]
    for other, match in [(dict(v=m), "m and v must not share memory"),
                         (dict(grad=m), "grad and m must not share memory"),
                         (dict(vhat=a["var"]), "var and vhat must not share memory")]:
        with pytest.raises(ValueError, match=match):
            _call(fn, {**a, **other})
    buf = np.zeros(20, np.float32)  # partial overlap
    with pytest.raises(ValueError, match="var and m must not share memory"):
        _call(fn, {**a, "var": buf[:10], "m": buf[5:15]})
    # two empty arrays may share an address: nothing is written
    e = np.zeros(0, np.float32)
    fn(e, e, e.copy(), e.copy(), None, 1e-3, 0.9, 0.999, 1e-7)


def test_adam_update_mixed_devices_refused(rng):
    pytest.importorskip("cupy")
    a = _good(rng)
    import cupy

    with pytest.raises(TypeError, match="adam_update: all arrays must be on the same device"):
        kernels.adam_update(cupy.asarray(a["var"]), a["grad"], a["m"], a["v"], None, 1e-3, 0.9, 0.999, 1e-7)


# ---- through the optimizer API -------------------------------------------------------------------------
def ufunc_steps(w0, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    """What Adam / AdamW did before the fused kernel: weight decay, then the ufunc step, in float32."""
    w = w0.copy()
    m, v, vhat = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        if wd:
            tmp = np.multiply(w, wd)
            tmp *= lr
            w -= tmp
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        ufunc_adam(np, w, g, m, v, vhat if amsgrad else None, alpha, b1, b2, eps)
    return w, m, v, vhat


@pytest.mark.parametrize("make, kw", [
    (lambda: optimizers.Adam(), dict(lr=1e-3)),
    (lambda: optimizers.Adam(learning_rate=0.02, beta_1=0.8, beta_2=0.95, epsilon=1e-4), dict(lr=0.02, b1=0.8,
                                                                                             b2=0.95, eps=1e-4)),
    (lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True), dict(lr=0.01, amsgrad=True)),
    (lambda: optimizers.AdamW(learning_rate=0.01), dict(lr=0.01, wd=0.004)),
    (lambda: optimizers.AdamW(learning_rate=0.01, weight_decay=0.1, amsgrad=True), dict(lr=0.01, wd=0.1,
                                                                                       amsgrad=True)),
])
@pytest.mark.parametrize("shape", [(1,), (37,), (6, 5, 3)])
def test_adam_optimizers_step_as_before(rng, make, kw, shape):
    w0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(7)]
    want, wm, wv, wvhat = ufunc_steps(w0, grads, **kw)
    opt, var = make(), Variable(w0.copy(), name="w")
    data = var.data
    for g in grads:
        opt.apply([g], [var])
    assert var.data is data  # still in place
    np.testing.assert_allclose(var.data, want, rtol=1e-6, atol=1e-7)
    slots = opt.variables
    np.testing.assert_allclose(slots[0], wm, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(slots[1], wv, rtol=1e-6, atol=1e-7)
    if kw.get("amsgrad"):
        np.testing.assert_allclose(slots[2], wvhat, rtol=1e-6, atol=1e-7)


def test_adam_float64_gradients_take_the_ufunc_path(rng):
    """A float64 gradient (not what the fused kernel takes) still steps as before, through the ufuncs."""
    w0 = rng.standard_normal((4, 5)).astype(np.float32)
    grads = [rng.standard_normal((4, 5)) for _ in range(3)]
    opt, var = optimizers.Adam(learning_rate=0.01), Variable(w0.copy(), name="w")
    for g in grads:
        opt.apply([g], [var])
    ref = w0.copy()
    ref_opt, ref_var = optimizers.Adam(learning_rate=0.01), Variable(ref, name="r")
    for g in grads:
        ref_opt.apply([g.astype(np.float32)], [ref_var])
    assert var.data.dtype == np.float32
    np.testing.assert_allclose(var.data, ref_var.data, rtol=1e-5, atol=1e-6)


# ---- SGD and RMSprop -------------------------------------------------------------------------------------
def sgd64(var, g, m, lr, momentum, nesterov):
    var, g = var.astype(np.float64), g.astype(np.float64)
    if m is None:
        return var - g * lr, None
    m = m.astype(np.float64) * momentum - g * lr
    return var + (m * momentum - g * lr if nesterov else m), m


def rmsprop64(var, g, v, avg, mom, lr, rho, momentum, eps):
    var, g, v = (x.astype(np.float64) for x in (var, g, v))
    v = rho * v + (1 - rho) * g * g
    if avg is not None:
        avg = rho * avg.astype(np.float64) + (1 - rho) * g
        den = v - avg * avg + eps
    else:
        den = v + eps
    inc = lr * g / np.sqrt(den)
    if mom is not None:
        mom = momentum * mom.astype(np.float64) + inc
        return var - mom, v, avg, mom
    return var - inc, v, avg, mom


def _close_and_as_ufuncs(ours, ref, old):
    for o, r, u in zip(ours, ref, old):
        if o is None:
            continue
        np.testing.assert_allclose(o, r, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(o, u, rtol=2e-7, atol=1e-9)  # bit for bit on the default build


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.8, True)])
def test_sgd_update(rng, shape, momentum, nesterov):
    var, g, m = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    m = m if momentum else None
    want = sgd64(var, g, m, 0.05, momentum, nesterov)
    old = copies(var, g, m)
    ufunc_sgd(np, *old, 0.05, momentum, nesterov)
    assert kernels.sgd_update(var, g, m, 0.05, momentum, nesterov) is None
    _close_and_as_ufuncs((var, m), want, (old[0], old[2]))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("centered, momentum", [(False, 0.0), (True, 0.0), (False, 0.5), (True, 0.9)])
def test_rmsprop_update(rng, shape, centered, momentum):
    var, g, avg, mom = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
    v = rng.uniform(1, 2, shape).astype(np.float32)  # v > avg^2, as the optimizer keeps it
    avg = avg * 0.1 if centered else None
    mom = mom if momentum else None
    args = (0.01, 0.9, momentum, 1e-7)
    want = rmsprop64(var, g, v, avg, mom, *args)
    old = copies(var, g, v, avg, mom)
    ufunc_rmsprop(np, *old, *args)
    assert kernels.rmsprop_update(var, g, v, avg, mom, *args) is None
    _close_and_as_ufuncs((var, v, avg, mom), want, (old[0], old[2], old[3], old[4]))


@pytest.mark.parametrize("fn", [kernels.sgd_update, _C.sgd_update])
def test_sgd_update_bad_arguments(rng, fn):
    var, g, m = (rng.standard_normal((4, 3)).astype(np.float32) for _ in range(3))
    with pytest.raises(ValueError, match=r"sgd_update: m is None \(plain SGD\) but momentum is 0.9"):
        fn(var, g, None, 0.1, 0.9, False)
    with pytest.raises(TypeError, match="sgd_update: m must be float32"):
        fn(var, g, m.astype(np.float64), 0.1, 0.9, False)
    with pytest.raises(ValueError, match=r"sgd_update: m must have the shape of var \(4, 3\)"):
        fn(var, g, m.reshape(3, 4), 0.1, 0.9, False)
    with pytest.raises(ValueError, match="sgd_update: var and m must not share memory"):
        fn(var, g, var, 0.1, 0.9, False)
    with pytest.raises(ValueError, match="sgd_update: var must be writeable"):
        fn(_readonly(var.copy()), g, m, 0.1, 0.9, False)


@pytest.mark.parametrize("fn", [kernels.rmsprop_update, _C.rmsprop_update])
def test_rmsprop_update_bad_arguments(rng, fn):
    var, g, v, avg = (rng.standard_normal((5,)).astype(np.float32) for _ in range(4))
    with pytest.raises(ValueError, match="rmsprop_update: mom is None but momentum is 0.5"):
        fn(var, g, v, avg, None, 0.1, 0.9, 0.5, 1e-7)
    with pytest.raises(ValueError, match=r"rmsprop_update: avg must have the shape of var \(5,\)"):
        fn(var, g, v, np.zeros(6, np.float32), None, 0.1, 0.9, 0.0, 1e-7)
    with pytest.raises(TypeError, match="rmsprop_update: v must be float32"):
        fn(var, g, v.astype(np.float64), None, None, 0.1, 0.9, 0.0, 1e-7)
    with pytest.raises(ValueError, match="rmsprop_update: v and mom must not share memory"):
        fn(var, g, v, None, v, 0.1, 0.9, 0.5, 1e-7)
    with pytest.raises(ValueError, match="rmsprop_update: mom must be C-contiguous"):
        fn(var, g, v, None, np.zeros(10, np.float32)[::2], 0.1, 0.9, 0.5, 1e-7)


def ufunc_opt_steps(kind, w0, grads, lr, **kw):
    """What SGD / RMSprop did before the fused kernels, over several steps (float32)."""
    w = w0.copy()
    s1, s2 = np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        if kind == "sgd":
            ufunc_sgd(np, w, g, s1 if kw["momentum"] else None, lr, kw["momentum"], kw["nesterov"])
        else:
            ufunc_rmsprop(np, w, g, s1, s2 if kw["centered"] else None, kw["mom"],
                          lr, kw["rho"], kw["momentum"], 1e-7)
    return w


@pytest.mark.parametrize("make, kw", [
    (lambda: optimizers.SGD(learning_rate=0.1), dict(kind="sgd", lr=0.1, momentum=0.0, nesterov=False)),
    (lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9), dict(kind="sgd", lr=0.05, momentum=0.9,
                                                                     nesterov=False)),
    (lambda: optimizers.SGD(learning_rate=0.05, momentum=0.8, nesterov=True), dict(kind="sgd", lr=0.05,
                                                                                    momentum=0.8, nesterov=True)),
    (lambda: optimizers.RMSprop(learning_rate=0.01), dict(kind="rms", lr=0.01, rho=0.9, momentum=0.0,
                                                          centered=False)),
    (lambda: optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5, centered=True),
     dict(kind="rms", lr=0.01, rho=0.8, momentum=0.5, centered=True)),
])
def test_sgd_rmsprop_optimizers_step_as_before(rng, make, kw):
    shape = (6, 5, 3)
    w0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(6)]
    kind, lr = kw.pop("kind"), kw.pop("lr")
    if kind == "rms":
        kw["mom"] = np.zeros_like(w0) if kw["momentum"] else None
    want = ufunc_opt_steps(kind, w0, grads, lr, **kw)
    opt, var = make(), Variable(w0.copy(), name="w")
    for g in grads:
        opt.apply([g], [var])
    np.testing.assert_allclose(var.data, want, rtol=1e-6, atol=1e-7)

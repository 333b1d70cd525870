"""The emulated CUDA optimizer bindings (adam_update, sgd_update, rmsprop_update; see conftest.py) against
forgenet._C, called positionally as python/forgenet/kernels/optimizer.py calls them, bad inputs (same
messages as _C), and the optimizers on fake-CuPy weights stepping as on the CPU."""
import numpy as np
import pytest

import fake_cupy
from emu_support import D, alloc
from forgenet import _C, kernels, optimizers
from forgenet.autograd import Variable

ARGS = (1.3e-3, 0.9, 0.999, 1e-7)


def state(rng, shape, amsgrad):
    var, g, m = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    v = rng.uniform(0, 2, shape).astype(np.float32)
    return var, g, m, v, (rng.uniform(0, 2, shape).astype(np.float32) if amsgrad else None)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (5, 3), (2, 3, 5), (300, 7)])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_update_binding_matches_cpu(ops, rng, shape, amsgrad):
    arrays = state(rng, shape, amsgrad)
    cpu = [None if a is None else a.copy() for a in arrays]
    dev = [None if a is None else D(a.copy()) for a in arrays]
    assert ops.adam_update(*dev, *ARGS) is None
    _C.adam_update(*cpu, *ARGS)
    for name, d, c in zip(("var", "grad", "m", "v", "vhat"), dev, cpu):
        if c is not None:  # same float32 operations in the same order: equal (the emulator has no fma)
            np.testing.assert_array_equal(d.a, c, err_msg=name)


def raw(emu, *args):
    return emu.module.adam_update(*args, stream=0, alloc=alloc)


class Strided:
    """A transposed (non-C-contiguous) float32 array behind __cuda_array_interface__."""

    def __init__(self, a):
        self.a = a
        self.__cuda_array_interface__ = {"shape": a.shape, "typestr": "<f4", "strides": a.strides,
                                         "data": (a.ctypes.data, False), "version": 3}


def _bad_cases(rng):
    var, g, m, v, vhat = state(rng, (4, 3), True)
    good = dict(var=var, grad=g, m=m, v=v, vhat=vhat)
    t = np.zeros((3, 4), np.float32).T
    buf = np.zeros(24, np.float32)
    return good, [
        ({"var": var.astype(np.float64)}, TypeError, "adam_update: var must be float32, got float64"),
        ({"grad": g.astype(np.float16)}, TypeError, "adam_update: grad must be float32"),
        ({"vhat": vhat.astype(np.float64)}, TypeError, "adam_update: vhat must be float32"),
        ({"v": np.zeros((3, 4), np.float32)}, ValueError, r"adam_update: v must have the shape of var \(4, 3\)"),
        ({"grad": np.zeros(12, np.float32)}, ValueError, "adam_update: grad must have the shape of var"),
        ({"vhat": np.zeros((4, 3, 1), np.float32)}, ValueError, "adam_update: vhat must have the shape of var"),
        ({"m": t}, ValueError, "adam_update: m must be C-contiguous"),
        ({"m": v}, ValueError, "adam_update: m and v must not share memory"),
        ({"grad": var}, ValueError, "var and grad must not share memory"),
        ({"var": buf[:12].reshape(4, 3), "m": buf[6:18].reshape(4, 3)}, ValueError,
         "adam_update: var and m must not share memory"),
    ]


def test_adam_update_binding_rejects_what_cpu_rejects(emu, rng):
    good, cases = _bad_cases(rng)
    for change, exc, match in cases:
        a = {**good, **change}
        order = [a[k] for k in ("var", "grad", "m", "v", "vhat")]
        before = [x.copy() for x in order]
        with pytest.raises(exc, match=match):
            _C.adam_update(*order, *ARGS)
        dev = [Strided(x) if not x.flags.c_contiguous else D(x) for x in order]
        dev = [d if isinstance(d, Strided) else _share(d, x) for d, x in zip(dev, order)]
        with pytest.raises(exc, match=match):
            raw(emu, *dev, *ARGS)
        for x, b in zip(order, before):
            np.testing.assert_array_equal(x, b)


def _share(d, x):
    """D(x) over x's own memory (D copies only what is not contiguous), so overlaps stay overlaps."""
    assert d.a.ctypes.data == x.ctypes.data
    return d


def test_adam_update_binding_other_bad_arguments(emu, rng):
    var, g, m, v, _ = state(rng, (5,), False)
    with pytest.raises(TypeError, match="adam_update: var must be a GPU array"):
        raw(emu, var, D(g), D(m), D(v), None, *ARGS)
    with pytest.raises(TypeError):
        raw(emu, D(var), D(g), D(m), D(v), None, "1e-3", 0.9, 0.999, 1e-7)
    with pytest.raises(TypeError):  # stream and alloc are keyword-only and required, as for every _cuda op
        emu.module.adam_update(D(var), D(g), D(m), D(v), None, *ARGS)


@pytest.fixture
def cp(emu, monkeypatch):
    """fake CuPy installed and forgenet's CUDA backend bound to the emulated module."""
    from forgenet import _cuda_backend

    cupy = fake_cupy.install(monkeypatch)
    monkeypatch.setattr(_cuda_backend, "_ops", _cuda_backend._Ops(emu.module, cupy))
    return cupy


def test_public_adam_update_on_fake_cupy(cp, rng):
    arrays = state(rng, (6, 7), True)
    cpu = [a.copy() for a in arrays]
    dev = [cp.asarray(a) for a in arrays]
    kernels.adam_update(*dev, *ARGS)
    kernels.adam_update(*cpu, *ARGS)
    for d, c in zip(dev, cpu):
        np.testing.assert_array_equal(cp.asnumpy(d), c)
    with pytest.raises(TypeError, match="adam_update: all arrays must be on the same device"):
        kernels.adam_update(dev[0], cpu[1], dev[2], dev[3], None, *ARGS)


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(learning_rate=0.01),
                                  lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
                                  lambda: optimizers.AdamW(learning_rate=0.01, weight_decay=0.1)])
def test_adam_optimizers_on_the_device_step_as_on_the_cpu(cp, rng, make):
    w0 = rng.standard_normal((9, 4)).astype(np.float32)
    grads = [rng.standard_normal((9, 4)).astype(np.float32) for _ in range(4)]
    cpu_var, dev_var = Variable(w0.copy(), name="w"), Variable(cp.asarray(w0), name="w")
    cpu_opt, dev_opt = make(), make()
    for g in grads:
        cpu_opt.apply([g], [cpu_var])
        dev_opt.apply([cp.asarray(g)], [dev_var])
    assert isinstance(dev_var.data, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(dev_var.data), cpu_var.data, rtol=1e-6, atol=1e-7)
    for d, c in zip(dev_opt.variables, cpu_opt.variables):
        assert isinstance(d, cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(d), c, rtol=1e-6, atol=1e-7)


# ---- SGD and RMSprop -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (300, 7)])
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.8, True)])
def test_sgd_update_binding_matches_cpu(ops, rng, shape, momentum, nesterov):
    var, g, m = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    m = m if momentum else None
    cpu = [None if a is None else a.copy() for a in (var, g, m)]
    dev = [None if a is None else D(a.copy()) for a in (var, g, m)]
    assert ops.sgd_update(*dev, 0.05, momentum, nesterov) is None
    _C.sgd_update(*cpu, 0.05, momentum, nesterov)
    for d, c in zip(dev, cpu):
        if c is not None:
            np.testing.assert_array_equal(d.a, c)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (300, 7)])
@pytest.mark.parametrize("centered, momentum", [(False, 0.0), (True, 0.0), (False, 0.5), (True, 0.9)])
def test_rmsprop_update_binding_matches_cpu(ops, rng, shape, centered, momentum):
    var, g, avg, mom = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
    v = rng.uniform(1, 2, shape).astype(np.float32)
    arrays = (var, g, v, avg * 0.1 if centered else None, mom if momentum else None)
    cpu = [None if a is None else a.copy() for a in arrays]
    dev = [None if a is None else D(a.copy()) for a in arrays]
    args = (0.01, 0.9, momentum, 1e-7)
    assert ops.rmsprop_update(*dev, *args) is None
    _C.rmsprop_update(*cpu, *args)
    for d, c in zip(dev, cpu):
        if c is not None:
            np.testing.assert_array_equal(d.a, c)


def test_sgd_rmsprop_bindings_reject_what_cpu_rejects(emu, rng):
    var, g, m, v = (rng.standard_normal((5,)).astype(np.float32) for _ in range(4))
    cases = [
        ("sgd_update", (var, g, None, 0.1, 0.9, False), ValueError, r"sgd_update: m is None \(plain SGD\)"),
        ("sgd_update", (var, g, var, 0.1, 0.9, False), ValueError, "sgd_update: var and m must not share memory"),
        ("sgd_update", (var, g, m.astype(np.float64), 0.1, 0.9, False), TypeError, "sgd_update: m must be float32"),
        ("rmsprop_update", (var, g, v, None, None, 0.1, 0.9, 0.5, 1e-7), ValueError,
         "rmsprop_update: mom is None but momentum is 0.5"),
        ("rmsprop_update", (var, g, v, np.zeros(6, np.float32), None, 0.1, 0.9, 0.0, 1e-7), ValueError,
         r"rmsprop_update: avg must have the shape of var \(5,\)"),
        ("rmsprop_update", (var, g, v, None, v, 0.1, 0.9, 0.5, 1e-7), ValueError,
         "rmsprop_update: v and mom must not share memory"),
    ]
    for name, args, exc, match in cases:
        with pytest.raises(exc, match=match):
            getattr(_C, name)(*args)
        dev = [D(a) if isinstance(a, np.ndarray) else a for a in args]
        with pytest.raises(exc, match=match):
            getattr(emu.module, name)(*dev, stream=0, alloc=alloc)


@pytest.mark.parametrize("make", [lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                                  lambda: optimizers.SGD(learning_rate=0.1),
                                  lambda: optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
                                  lambda: optimizers.RMSprop(learning_rate=0.01)])
def test_sgd_rmsprop_on_the_device_step_as_on_the_cpu(cp, rng, make):
    test_adam_optimizers_on_the_device_step_as_on_the_cpu(cp, rng, make)

"""The added optimizers, EMA and gradient accumulation against Keras 3 (torch backend) trajectories on the same
gradient sequences; the fused kernels against a float64 reference and against the ufunc fallback."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from forgenet import kernels, optimizers  # noqa: E402
from forgenet.autograd import Variable  # noqa: E402

R = np.random.default_rng(0)
W0 = [R.standard_normal((3, 4)).astype(np.float32), R.standard_normal((5,)).astype(np.float32)]
GRADS = [[R.standard_normal(w.shape).astype(np.float32) for w in W0] for _ in range(7)]

CASES = [
    ("Adagrad", {}), ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-5}),
    ("Adadelta", {}), ("Adadelta", {"learning_rate": 1.0, "rho": 0.8}),
    ("Adamax", {}), ("Adamax", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.9}),
    ("Nadam", {}), ("Nadam", {"learning_rate": 0.01, "beta_1": 0.7}),
    ("Lion", {}), ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("Ftrl", {}), ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
                            "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.03,
                            "beta": 0.5, "learning_rate_power": -0.7}),
    ("Adam", {"use_ema": True, "ema_momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "use_ema": True, "ema_overwrite_frequency": 3}),
    ("Adam", {"gradient_accumulation_steps": 3}), ("Nadam", {"gradient_accumulation_steps": 2, "clipnorm": 0.5}),
    ("Adamax", {"weight_decay": 0.1}), ("Lion", {"global_clipnorm": 1.0, "weight_decay": 0.05}),
    ("Adagrad", {"clipvalue": 0.3}),
    ("Adam", {"learning_rate": keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)}),
]


def _ours_lr(kw):
    kw = dict(kw)
    lr = kw.get("learning_rate")
    if isinstance(lr, keras.optimizers.schedules.ExponentialDecay):
        kw["learning_rate"] = optimizers.schedules.ExponentialDecay(**lr.get_config())
    return kw


def _trajectories(name, kw):
    kvars = [keras.Variable(w.copy()) for w in W0]
    kopt = getattr(keras.optimizers, name)(**kw)
    fvars = [Variable(w.copy(), name=f"v{i}") for i, w in enumerate(W0)]
    fopt = getattr(optimizers, name)(**_ours_lr(kw))
    for gs in GRADS:
        kopt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in gs], kvars))
        fopt.apply([g.copy() for g in gs], fvars)
        for kv, fv in zip(kvars, fvars):
            yield keras.ops.convert_to_numpy(kv), fv.numpy()
    kopt.finalize_variable_values(kvars)
    fopt.finalize_variable_values(fvars)
    for kv, fv in zip(kvars, fvars):
        yield keras.ops.convert_to_numpy(kv), fv.numpy()


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_trajectory_matches_keras(name, kw):
    for k, f in _trajectories(name, kw):
        np.testing.assert_allclose(f, k, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kw", CASES[:12], ids=[f"{c[0]}{i}" for i, c in enumerate(CASES[:12])])
def test_config_matches_keras_and_round_trips(name, kw):
    kc = getattr(keras.optimizers, name)(**kw).get_config()
    fo = getattr(optimizers, name)(**kw)
    fc = fo.get_config()
    for k, v in kc.items():
        if k not in ("name",):
            assert k in fc, k
            assert fc[k] == pytest.approx(v), (k, fc[k], v)
    assert type(optimizers.get(optimizers.serialize(fo))) is type(fo)
    assert isinstance(optimizers.get(name.lower()), getattr(optimizers, name))


def test_schedule_config_is_the_schedules():
    s = optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.5, warmup_steps=10)
    opt = optimizers.Adam(learning_rate=s)
    cfg = opt.get_config()
    assert cfg["learning_rate"]["class_name"] == "CosineDecay"
    again = optimizers.Adam.from_config(cfg)
    assert again._learning_rate.get_config() == s.get_config()


def test_nadam_state_round_trip_keeps_the_momentum_product():
    v = [Variable(W0[0].copy())]
    a = optimizers.Nadam()
    for gs in GRADS[:3]:
        a.apply([gs[0]], v)
    b = optimizers.Nadam()
    v2 = [Variable(v[0].numpy())]
    b.build(v2)
    b.set_state(*a.get_state())
    a.apply([GRADS[3][0]], v)
    b.apply([GRADS[3][0]], v2)
    np.testing.assert_array_equal(v[0].numpy(), v2[0].numpy())


# ---- the fused kernels ---------------------------------------------------------------------------------
def _ref64(kind, w, g, s0, s1, c):
    """float64 reference of each step (the formulas of csrc/common/optimizer_math.h)."""
    w, g, s0, s1 = (np.asarray(x, np.float64) for x in (w, g, s0, s1))
    if kind == "adagrad":
        lr, eps = c
        s0 = s0 + g * g
        return w - g * lr / np.sqrt(s0 + eps), s0, s1
    if kind == "adadelta":
        lr, rho, cc, eps = c
        s0 = rho * s0 + cc * g * g
        d = -np.sqrt(s1 + eps) * g / np.sqrt(s0 + eps)
        return w + lr * d, s0, rho * s1 + cc * d * d
    if kind == "adamax":
        lr, c1, b2, eps, corr = c
        s0 = s0 + (g - s0) * c1
        s1 = np.maximum(b2 * s1, np.abs(g))
        return w - lr * s0 / (corr * (s1 + eps)), s0, s1
    if kind == "nadam":
        lr, c1, c2, eps, ut1, d1, cg, d0, cv = c
        s0 = s0 + (g - s0) * c1
        s1 = s1 + (g * g - s1) * c2
        mh = ut1 * s0 / d1 + cg * g / d0
        return w - mh * lr / (np.sqrt(s1 / cv) + eps), s0, s1
    if kind == "lion":
        lr, b1, c1, b2, c2 = c
        return w - lr * np.sign(s0 * b1 + g * c1), s0 * b2 + g * c2, s1
    lr, p, l1, two_l2, two_s = c
    na = s0 + g * g
    lin = s1 + (g + two_s * w) - (na ** p - s0 ** p) / lr * w
    return (np.clip(lin, -l1, l1) - lin) / (na ** p / lr + two_l2), na, lin


KERNEL_CASES = [
    ("adagrad", lambda: kernels.optimizer.adagrad_consts(0.1, 1e-7), 1),
    ("adadelta", lambda: kernels.optimizer.adadelta_consts(1.0, 0.9, 1e-6), 2),
    ("adamax", lambda: kernels.optimizer.adamax_consts(0.01, 0.9, 0.999, 1e-7, 3), 2),
    ("nadam", lambda: kernels.optimizer.nadam_consts(0.01, 0.9, 0.999, 1e-7, 3, 0.5), 2),
    ("lion", lambda: kernels.optimizer.lion_consts(0.01, 0.9, 0.99), 1),
    ("ftrl", lambda: kernels.optimizer.ftrl_consts(0.1, -0.5, 0.01, 0.02, 0.03, 0.1), 2),
]


@pytest.mark.parametrize("n", [1, 37, 5000, (1 << 20) + 3])
@pytest.mark.parametrize("kind,consts,nslots", KERNEL_CASES, ids=[c[0] for c in KERNEL_CASES])
def test_fused_kernel_matches_float64(kind, consts, nslots, n):
    if n > 10000 and kind not in ("adamax", "ftrl"):
        pytest.skip("one large size per slot count is enough (the threaded path)")
    rng = np.random.default_rng(n)
    w, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    s0 = rng.uniform(0.1, 1.0, n).astype(np.float32)
    s1 = rng.uniform(0.1, 1.0, n).astype(np.float32)
    c = consts()
    ref = _ref64(kind, w, g, s0, s1 if nslots == 2 else np.zeros_like(s1), [float(x) for x in c])
    from forgenet import _C
    _C.fused_update(kernels.optimizer._KIND[kind], w, g, s0, s1 if nslots == 2 else None, [float(x) for x in c])
    outs = (w, s0, s1)[:1 + nslots]
    for got, want in zip(outs, ref):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kw", [("Adagrad", {}), ("Adadelta", {"learning_rate": 1.0}), ("Adamax", {}),
                                     ("Nadam", {}), ("Lion", {}), ("Ftrl", {"l1_regularization_strength": 0.01})])
def test_fused_equals_ufunc_fallback(name, kw):
    """A strided weight takes the ufunc path; a contiguous one the fused kernel: the same numbers."""
    base = R.standard_normal((6, 8)).astype(np.float32)
    fused = Variable(base[:, :4].copy())
    strided = Variable(base[:, :4].copy())
    strided.data = np.ascontiguousarray(base)[:, :4]  # a view: not C-contiguous, so _fusable is False
    strided.data[...] = fused.data
    a, b = getattr(optimizers, name)(**kw), getattr(optimizers, name)(**kw)
    for _ in range(4):
        g = R.standard_normal((6, 4)).astype(np.float32)
        a.apply([g], [fused])
        b.apply([g], [strided])
    tol = 1e-6 if name == "Ftrl" else 0  # powf may be vectorised with another rounding
    np.testing.assert_allclose(strided.data, fused.data, rtol=tol, atol=tol)


def test_kernel_argument_errors():
    w = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="adagrad_update: accumulator must have the shape"):
        kernels.adagrad_update(w, np.zeros(4, np.float32), np.zeros(3, np.float32), 0.1, 1e-7)
    with pytest.raises(TypeError, match="lion_update: var must be float32"):
        kernels.lion_update(np.zeros(4), np.zeros(4, np.float32), np.zeros(4, np.float32), 0.1, 0.9, 0.99)
    with pytest.raises(ValueError, match="must not share memory"):
        kernels.adamax_update(w, np.zeros(4, np.float32), w, np.zeros(4, np.float32), 0.1, 0.9, 0.99, 1e-7, 1)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.Adam(gradient_accumulation_steps=1)
    with pytest.raises(NotImplementedError, match="loss_scale_factor"):
        optimizers.Adam(loss_scale_factor=128.0)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optimizers.Adagrad(initial_accumulator_value=-1)

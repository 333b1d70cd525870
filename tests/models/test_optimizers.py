"""Optimizers against float64 numpy transcriptions of Keras 3's update_step formulas, over several
steps, plus Keras's documented examples, clipping, weight decay and the in-place contract."""
import math

import numpy as np
import pytest

from forgenet import optimizers
from forgenet.autograd import Variable

from support import assert_close


# ---- references: keras/src/optimizers/{sgd,adam,rmsprop}.py and base_optimizer (float64) ----------
def ref_sgd(w, grads, lr, momentum=0.0, nesterov=False, wd=None):
    w = w.astype(np.float64).copy()
    m = np.zeros_like(w)
    for g in grads:
        if wd:
            w = w - w * wd * lr
        if momentum:
            m = m * momentum - g * lr
            w = w + (m * momentum - g * lr if nesterov else m)
        else:
            w = w - g * lr
    return w


def ref_adam(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    w = w.astype(np.float64).copy()
    m, v, vhat = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        if wd:
            w = w - w * wd * lr
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        vv = v
        if amsgrad:
            vhat = np.maximum(vhat, v)
            vv = vhat
        w = w - m * alpha / (np.sqrt(vv) + eps)
    return w


def ref_rmsprop(w, grads, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w = w.astype(np.float64).copy()
    v, mom, avg = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        if centered:
            avg = rho * avg + (1 - rho) * g
            den = v - avg * avg + eps
        else:
            den = v + eps
        inc = lr * g / np.sqrt(den)
        if momentum > 0:
            mom = momentum * mom + inc
            w = w - mom
        else:
            w = w - inc
    return w


def run(opt, w0, grads):
    """Our optimizer on a Variable (and a second one, so slots are per-variable), returns the first."""
    var = Variable(w0.copy(), name="w")
    other = Variable(np.ones((3,), np.float32), name="other")
    for g in grads:
        opt.apply([g.astype(np.float32), np.full(3, 0.5, np.float32)], [var, other])
    return var.data


CASES = [
    (lambda: optimizers.SGD(learning_rate=0.1), lambda w, g: ref_sgd(w, g, 0.1)),
    (lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9), lambda w, g: ref_sgd(w, g, 0.05, 0.9)),
    (lambda: optimizers.SGD(learning_rate=0.05, momentum=0.8, nesterov=True),
     lambda w, g: ref_sgd(w, g, 0.05, 0.8, nesterov=True)),
    (lambda: optimizers.Adam(), lambda w, g: ref_adam(w, g, 1e-3)),
    (lambda: optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-5),
     lambda w, g: ref_adam(w, g, 0.01, 0.8, 0.99, 1e-5)),
    (lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True), lambda w, g: ref_adam(w, g, 0.01, amsgrad=True)),
    (lambda: optimizers.AdamW(learning_rate=0.01), lambda w, g: ref_adam(w, g, 0.01, wd=0.004)),
    (lambda: optimizers.AdamW(learning_rate=0.01, weight_decay=0.1), lambda w, g: ref_adam(w, g, 0.01, wd=0.1)),
    (lambda: optimizers.RMSprop(), lambda w, g: ref_rmsprop(w, g, 1e-3)),
    (lambda: optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5),
     lambda w, g: ref_rmsprop(w, g, 0.01, 0.8, 0.5)),
    (lambda: optimizers.RMSprop(learning_rate=0.01, centered=True), lambda w, g: ref_rmsprop(w, g, 0.01, centered=True)),
    (lambda: optimizers.RMSprop(learning_rate=0.01, centered=True, momentum=0.9),
     lambda w, g: ref_rmsprop(w, g, 0.01, momentum=0.9, centered=True)),
    (lambda: optimizers.SGD(learning_rate=0.1, weight_decay=0.01), lambda w, g: ref_sgd(w, g, 0.1, wd=0.01)),
]


@pytest.mark.parametrize("make, ref", CASES)
@pytest.mark.parametrize("shape", [(7,), (5, 3), (2, 3, 4)])
def test_updates_match_keras_formulas(make, ref, shape, rng):
    w0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape) for _ in range(6)]
    opt = make()
    got = run(opt, w0, grads)
    assert opt.iterations == 6
    assert_close(got, ref(w0, [g.astype(np.float32).astype(np.float64) for g in grads]), rtol=2e-5, atol=2e-6)


def test_keras_documented_examples():
    # keras.optimizers.RMSprop docstring: var1 = 10, loss = var1**2 / 2, lr 0.1 -> 9.683772 after one step
    var = Variable(np.array([10.0], np.float32))
    optimizers.RMSprop(learning_rate=0.1).apply([var.data.copy()], [var])
    assert_close(var.data, [9.683772], rtol=1e-6)
    # keras.optimizers.SGD docstring: var = 1, loss = var**2 / 2, lr 0.1 -> 0.9; with momentum 0.9 the
    # second step moves it by 0.18 (to 0.72)
    var = Variable(np.array([1.0], np.float32))
    optimizers.SGD(learning_rate=0.1).apply([var.data.copy()], [var])
    assert_close(var.data, [0.9], rtol=1e-6)
    var = Variable(np.array([1.0], np.float32))
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    for expect in (0.9, 0.72):
        opt.apply([var.data.copy()], [var])
        assert_close(var.data, [expect], rtol=1e-6)


def test_updates_are_in_place_without_new_state(rng):
    var = Variable(rng.standard_normal((4, 5)).astype(np.float32))
    opt = optimizers.Adam()
    opt.apply([rng.standard_normal((4, 5)).astype(np.float32)], [var])
    data, slots, scratch = var.data, [id(a) for a in opt.variables], [id(s) for s in opt._scratch]
    for _ in range(3):
        g = rng.standard_normal((4, 5)).astype(np.float32)
        g_copy = g.copy()
        opt.apply([g], [var])
        np.testing.assert_array_equal(g, g_copy)  # gradients may alias others: never written to
    assert var.data is data
    assert [id(a) for a in opt.variables] == slots and [id(s) for s in opt._scratch] == scratch
    assert var.data.dtype == np.float32 and all(a.dtype == np.float32 for a in opt.variables)


def test_clipping(rng):
    g = np.array([3.0, 4.0], np.float32)  # norm 5
    for kw, expect in (({"clipnorm": 1.0}, [0.6, 0.8]), ({"clipvalue": 3.5}, [3.0, 3.5]),
                       ({"global_clipnorm": 2.5}, [1.5, 2.0]), ({"clipnorm": 10.0}, [3.0, 4.0])):
        var = Variable(np.zeros(2, np.float32))
        optimizers.SGD(learning_rate=1.0, **kw).apply([g], [var])
        assert_close(-var.data, expect, rtol=1e-6, what=str(kw))
    # global norm spans all gradients
    a, b = Variable(np.zeros(1, np.float32)), Variable(np.zeros(1, np.float32))
    optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0).apply([np.array([3.0], np.float32),
                                                                 np.array([4.0], np.float32)], [a, b])
    assert_close(np.concatenate([-a.data, -b.data]), [0.6, 0.8], rtol=1e-6)


def test_weight_decay_exclusion_and_schedule():
    a, b = Variable(np.ones(2, np.float32), name="dense/kernel"), Variable(np.ones(2, np.float32), name="dense/bias")
    opt = optimizers.SGD(learning_rate=0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    zero = np.zeros(2, np.float32)
    opt.apply([zero, zero], [a, b])
    assert_close(a.data, [0.95, 0.95]) and assert_close(b.data, [1.0, 1.0])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["x"])
    # a callable learning rate is called with the iteration count, as Keras schedules are
    var = Variable(np.zeros(1, np.float32))
    opt = optimizers.SGD(learning_rate=lambda step: 1.0 / (step + 1))
    for _ in range(3):
        opt.apply([np.ones(1, np.float32)], [var])
    assert_close(var.data, [-(1 + 1 / 2 + 1 / 3)], rtol=1e-6)


def test_get_and_config():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("SGD"), optimizers.SGD)
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("adamw"), optimizers.AdamW)
    assert isinstance(optimizers.get(optimizers.RMSprop), optimizers.RMSprop)  # a class, as Keras accepts
    opt = optimizers.Adam(learning_rate=0.01, beta_1=0.8, amsgrad=True)
    assert optimizers.get(opt) is opt
    clone = optimizers.get(optimizers.serialize(opt))
    assert type(clone) is optimizers.Adam and clone.get_config() == opt.get_config()
    assert optimizers.SGD().learning_rate == 0.01 and optimizers.Adam().epsilon == 1e-7
    assert optimizers.AdamW().weight_decay == 0.004 and optimizers.RMSprop().rho == 0.9


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adagradd'.*'adam'.*'sgd'"):
        optimizers.get("adagradd")
    with pytest.raises(ValueError, match="learning_rate must be"):
        optimizers.SGD(learning_rate=-1)
    with pytest.raises(ValueError, match="momentum must be"):
        optimizers.SGD(momentum=2)
    with pytest.raises(ValueError, match="beta_1 must be"):
        optimizers.Adam(beta_1=1.0)
    with pytest.raises(ValueError, match="only one of clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Adam"):
        optimizers.Adam(lr=0.1)
    var, other = Variable(np.zeros(2, np.float32)), Variable(np.zeros(3, np.float32))
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="pass the variables on the first call"):
        opt.apply([np.zeros(2, np.float32)])
    opt.apply([np.zeros(2, np.float32)], [var])
    with pytest.raises(ValueError, match="is not one of the variables"):
        opt.apply([np.zeros(3, np.float32)], [other])
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\) does not match variable"):
        opt.apply([np.zeros(3, np.float32)], [var])
    with pytest.raises(ValueError, match="no gradients provided"):
        opt.apply([None], [var])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        optimizers.SGD().apply([np.zeros(2, np.float32), None], [var, other])

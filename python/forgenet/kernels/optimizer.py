"""Fused optimizer updates: one pass per weight over the weight and its slots, in place.

The weight and slot arrays are updated in place, so they are never copied: they must already be
float32, C-contiguous, writeable and of one shape (the family's contract in C++,
csrc/bindings/contracts/optimizer.h, checks that on both devices). Only the gradient, which is read, is
converted here (made contiguous when it is not); scalars become floats.
"""
from __future__ import annotations

import numpy as np

from forgenet.kernels._array import as_f32, backend, real


def adam_update(var, grad, m, v, vhat, alpha, beta_1, beta_2, epsilon):
    """One Adam step in place (Keras 3's formulas, float32, in this order):
    m += (grad - m)(1 - beta_1);  v += (grad^2 - v)(1 - beta_2);  vhat = max(vhat, v) and used for v
    unless vhat is None (amsgrad);  var -= m * alpha / (sqrt(v) + epsilon). Returns None.

    Arrays: var, m, v (and vhat) float32 of one shape, C-contiguous and writeable (updated in place); grad
    float32 of that shape (copied if not contiguous); numpy (CPU) or CuPy (GPU), one device.
    """
    op = "adam_update"
    grad = as_f32(op, "grad", grad)
    args = [real(op, n, x) for n, x in
            (("alpha", alpha), ("beta_1", beta_1), ("beta_2", beta_2), ("epsilon", epsilon))]
    backend(op, var, grad, m, v, vhat).adam_update(var, grad, m, v, vhat, *args)


def sgd_update(var, grad, m, learning_rate, momentum, nesterov):
    """One SGD step in place (Keras 3's formulas, float32, in this order): s = grad * learning_rate;
    without a momentum slot (m None; momentum must then be 0) var -= s; else m = m * momentum - s and
    var += m, or with nesterov var += m * momentum - s. Returns None.

    Arrays: var (and m) float32 of one shape, C-contiguous and writeable (updated in place); grad float32 of
    that shape; numpy (CPU) or CuPy (GPU), one device.
    """
    op = "sgd_update"
    grad = as_f32(op, "grad", grad)
    lr, mom = real(op, "learning_rate", learning_rate), real(op, "momentum", momentum)
    backend(op, var, grad, m).sgd_update(var, grad, m, lr, mom, bool(nesterov))


def rmsprop_update(var, grad, v, avg, mom, learning_rate, rho, momentum, epsilon):
    """One RMSprop step in place (Keras 3's formulas, float32, in this order):
    v = v * rho + grad^2 * (1 - rho);  den = v + epsilon, or centered (avg not None)
    avg = avg * rho + grad * (1 - rho) and den = (v - avg^2) + epsilon;  inc = grad * learning_rate / sqrt(den);
    var -= inc, or with a momentum slot (mom not None; else momentum must be 0) mom = mom * momentum + inc
    and var -= mom. Returns None.

    Arrays: var, v (and avg, mom) float32 of one shape, C-contiguous and writeable (updated in place); grad
    float32 of that shape; numpy (CPU) or CuPy (GPU), one device.
    """
    op = "rmsprop_update"
    grad = as_f32(op, "grad", grad)
    args = [real(op, n, x) for n, x in
            (("learning_rate", learning_rate), ("rho", rho), ("momentum", momentum), ("epsilon", epsilon))]
    backend(op, var, grad, v, avg, mom).rmsprop_update(var, grad, v, avg, mom, *args)


# ---- Adagrad, Adadelta, Adamax, Nadam, Lion, Ftrl: one fused entry point (csrc/common/optimizer_math.h) --------
# Each public function derives its float32 constants once (the `*_consts` helpers, which the ufunc fallback in
# forgenet/optimizers/adaptive.py uses too, so both round alike) and runs one pass over the weight and its slots.
_KIND = {"adagrad": 0, "adadelta": 1, "adamax": 2, "nadam": 3, "lion": 4, "ftrl": 5}
f32 = np.float32


def _reals(op, **scalars):
    """The op's scalar arguments as floats, in order (a non-number is refused by name)."""
    return [real(op, name, v) for name, v in scalars.items()]


def _fused(op, var, grad, slots, consts):
    grad = as_f32(op, "grad", grad)
    slots = slots + [None] * (2 - len(slots))
    backend(op, var, grad, *slots).fused_update(_KIND[op[:-7]], var, grad, slots[0], slots[1], [float(c) for c in consts])


def adagrad_consts(learning_rate, epsilon):
    return f32(learning_rate), f32(epsilon)


def adadelta_consts(learning_rate, rho, epsilon):
    return f32(learning_rate), f32(rho), f32(1.0 - rho), f32(epsilon)


def adamax_consts(learning_rate, beta_1, beta_2, epsilon, step):
    return f32(learning_rate), f32(1.0 - beta_1), f32(beta_2), f32(epsilon), f32(1) - f32(beta_1) ** f32(step)


def nadam_consts(learning_rate, beta_1, beta_2, epsilon, step, u_product):
    """u_product: prod of u_s for s <= step (Keras's _u_product after this step's update)."""
    u = [f32(beta_1) * (f32(1) - f32(0.5) * f32(0.96) ** f32(s)) for s in (step, step + 1)]
    up1 = f32(u_product) * u[1]
    return (f32(learning_rate), f32(1.0 - beta_1), f32(1.0 - beta_2), f32(epsilon), u[1], f32(1) - up1,
            f32(1) - u[0], f32(1) - f32(u_product), f32(1) - f32(beta_2) ** f32(step))


def lion_consts(learning_rate, beta_1, beta_2):
    return f32(learning_rate), f32(beta_1), f32(1.0 - beta_1), f32(beta_2), f32(1.0 - beta_2)


def ftrl_consts(learning_rate, learning_rate_power, l1, l2, l2_shrinkage, beta):
    lr = f32(learning_rate)
    l2_total = f32(l2) + f32(beta) / (f32(2.0) * lr)
    return lr, f32(-learning_rate_power), f32(l1), f32(2) * l2_total, f32(2 * l2_shrinkage)


def adagrad_update(var, grad, accumulator, learning_rate, epsilon):
    """One Adagrad step in place (Keras 3): accumulator += grad^2; var -= grad lr / sqrt(accumulator + eps).

    Arrays: var, grad and the slots float32 of one shape (var and slots C-contiguous and writeable: updated in
    place); numpy (CPU) or CuPy (GPU) on one device. Returns None.
    """
    _fused("adagrad_update", var, grad, [accumulator], adagrad_consts(
        *_reals("adagrad_update", learning_rate=learning_rate, epsilon=epsilon)))


def adadelta_update(var, grad, accumulated_grad, accumulated_delta_var, learning_rate, rho, epsilon):
    """One Adadelta step in place (Keras 3's formulas; see csrc/common/optimizer_math.h).

    Arrays: var, grad and the slots float32 of one shape (var and slots C-contiguous and writeable: updated in
    place); numpy (CPU) or CuPy (GPU) on one device. Returns None.
    """
    _fused("adadelta_update", var, grad, [accumulated_grad, accumulated_delta_var],
           adadelta_consts(*_reals("adadelta_update", learning_rate=learning_rate, rho=rho, epsilon=epsilon)))


def adamax_update(var, grad, m, u, learning_rate, beta_1, beta_2, epsilon, step):
    """One Adamax step in place; step is the 1-based iteration (for the 1 - beta_1^step correction).

    Arrays: var, grad and the slots float32 of one shape (var and slots C-contiguous and writeable: updated in
    place); numpy (CPU) or CuPy (GPU) on one device. Returns None.
    """
    _fused("adamax_update", var, grad, [m, u], adamax_consts(
        *_reals("adamax_update", learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, step=step)))


def nadam_update(var, grad, m, v, learning_rate, beta_1, beta_2, epsilon, step, u_product):
    """One Nadam step in place; step is 1-based and u_product Keras's running momentum product including it.

    Arrays: var, grad and the slots float32 of one shape (var and slots C-contiguous and writeable: updated in
    place); numpy (CPU) or CuPy (GPU) on one device. Returns None.
    """
    _fused("nadam_update", var, grad, [m, v], nadam_consts(
        *_reals("nadam_update", learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, step=step,
                u_product=u_product)))


def lion_update(var, grad, m, learning_rate, beta_1, beta_2):
    """One Lion step in place: var -= lr sign(b1 m + (1 - b1) grad); m = b2 m + (1 - b2) grad.

    Arrays: var, grad and the slots float32 of one shape (var and slots C-contiguous and writeable: updated in
    place); numpy (CPU) or CuPy (GPU) on one device. Returns None.
    """
    _fused("lion_update", var, grad, [m], lion_consts(
        *_reals("lion_update", learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2)))


def ftrl_update(var, grad, accumulator, linear, learning_rate, learning_rate_power, l1_regularization_strength,
                l2_regularization_strength, l2_shrinkage_regularization_strength, beta):
    """One FTRL-proximal step in place (Keras 3's formulas, l2 shrinkage and beta included).

    Arrays: var, grad and the slots float32 of one shape (var and slots C-contiguous and writeable: updated in
    place); numpy (CPU) or CuPy (GPU) on one device. Returns None.
    """
    _fused("ftrl_update", var, grad, [accumulator, linear],
           ftrl_consts(*_reals("ftrl_update", learning_rate=learning_rate, learning_rate_power=learning_rate_power,
                               l1_regularization_strength=l1_regularization_strength,
                               l2_regularization_strength=l2_regularization_strength,
                               l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength, beta=beta)))

"""Adagrad, Adadelta, Adamax, Nadam, Lion and Ftrl with Keras 3's formulas, defaults and slot names.

Each update_step runs the fused kernel (forgenet.kernels.optimizer) when the weight takes it, else
the same arithmetic as float32 ufuncs, rounding step by step as the kernel does.
"""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import array_module
from forgenet.kernels import optimizer as K
from forgenet.optimizers.optimizer import Optimizer, _fusable

f32 = np.float32


def _check_unit(cls, name, v, upper_open=True):
    if not isinstance(v, (int, float)) or not (0 <= v < 1 if upper_open else 0 <= v <= 1):
        raise ValueError(f"{cls}: {name} must be a float in [0, 1{')' if upper_open else ']'}, got {v!r}")


class Adagrad(Optimizer):
    """accumulator += g^2;  w -= lr g / sqrt(accumulator + eps); accumulators start at initial_accumulator_value."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(f"Adagrad: initial_accumulator_value must be >= 0, got {initial_accumulator_value!r}")
        self.initial_accumulator_value, self.epsilon = float(initial_accumulator_value), float(epsilon)

    def build(self, variables):
        super().build(variables)
        self._acc = self.add_slot("accumulator")
        for a in self._acc:
            a[...] = self.initial_accumulator_value

    def update_step(self, g, var, lr):
        acc = self._acc[self._index[id(var)]]
        if _fusable(var.data, g):
            return K.adagrad_update(var.data, g, acc, lr, self.epsilon)
        lr, eps = K.adagrad_consts(lr, self.epsilon)
        acc += g * g
        var.data -= (g * lr) / array_module(acc).sqrt(acc + eps)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """ag = rho ag + (1 - rho) g^2;  d = -sqrt(adv + eps) / sqrt(ag + eps) g;  adv = rho adv + (1 - rho) d^2;
    w += lr d."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name="adadelta", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        _check_unit("Adadelta", "rho", rho, upper_open=False)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def build(self, variables):
        super().build(variables)
        self._ag = self.add_slot("accumulated_grad")
        self._adv = self.add_slot("accumulated_delta_var")

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        ag, adv = self._ag[i], self._adv[i]
        if _fusable(var.data, g):
            return K.adadelta_update(var.data, g, ag, adv, lr, self.rho, self.epsilon)
        xp = array_module(var.data)
        lr, rho, c, eps = K.adadelta_consts(lr, self.rho, self.epsilon)
        ag[...] = rho * ag + c * (g * g)
        d = -((xp.sqrt(adv + eps) * g) / xp.sqrt(ag + eps))
        adv[...] = rho * adv + c * (d * d)
        var.data += lr * d

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """m += (g - m)(1 - b1);  u = max(b2 u, |g|);  w -= lr m / ((1 - b1^t)(u + eps))."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        _check_unit("Adamax", "beta_1", beta_1)
        _check_unit("Adamax", "beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def build(self, variables):
        super().build(variables)
        self._m = self.add_slot("momentum")
        self._u = self.add_slot("norm")

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        m, u = self._m[i], self._u[i]
        t = self.iterations + 1
        if _fusable(var.data, g):
            return K.adamax_update(var.data, g, m, u, lr, self.beta_1, self.beta_2, self.epsilon, t)
        xp = array_module(var.data)
        lr, c1, b2, eps, corr = K.adamax_consts(lr, self.beta_1, self.beta_2, self.epsilon, t)
        m += (g - m) * c1
        u[...] = xp.maximum(b2 * u, xp.abs(g))
        var.data -= (lr * m) / (corr * (u + eps))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum schedule u_t = b1 (1 - 0.5 * 0.96^t)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="nadam", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        _check_unit("Nadam", "beta_1", beta_1)
        _check_unit("Nadam", "beta_2", beta_2)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self._u_product = f32(1.0)

    def build(self, variables):
        super().build(variables)
        self._m = self.add_slot("momentum")
        self._v = self.add_slot("velocity")
        self._u_product = f32(1.0)

    def _u(self, step):
        return f32(self.beta_1) * (f32(1) - f32(0.5) * f32(0.96) ** f32(step))

    def _before_updates(self, lr):
        self._u_product = f32(self._u_product * self._u(self.iterations + 1))

    def set_state(self, iterations, arrays):
        super().set_state(iterations, arrays)
        p = f32(1.0)  # the momentum product is a function of the (update) step count
        for t in range(1, self.iterations + 1):
            p = f32(p * self._u(t))
        self._u_product = p

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        m, v = self._m[i], self._v[i]
        t = self.iterations + 1
        if _fusable(var.data, g):
            return K.nadam_update(var.data, g, m, v, lr, self.beta_1, self.beta_2, self.epsilon, t, self._u_product)
        lr, c1, c2, eps, u_t1, d1, c_g, d0, c_v = K.nadam_consts(lr, self.beta_1, self.beta_2, self.epsilon, t,
                                                                 self._u_product)
        m += (g - m) * c1
        v += (g * g - v) * c2
        m_hat = (u_t1 * m) / d1 + (c_g * g) / d0
        var.data -= (m_hat * lr) / (array_module(v).sqrt(v / c_v) + eps)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Lion(Optimizer):
    """w -= lr sign(b1 m + (1 - b1) g);  m = b2 m + (1 - b2) g."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name="lion", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not isinstance(beta_1, (int, float)) or not 0 < beta_1 <= 1:
            raise ValueError(f"Lion: beta_1 must be in (0, 1], got {beta_1!r}")
        _check_unit("Lion", "beta_2", beta_2, upper_open=False)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def build(self, variables):
        super().build(variables)
        self._m = self.add_slot("momentum")

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        m = self._m[i]
        if _fusable(var.data, g):
            return K.lion_update(var.data, g, m, lr, self.beta_1, self.beta_2)
        lr, b1, c1, b2, c2 = K.lion_consts(lr, self.beta_1, self.beta_2)
        var.data -= lr * array_module(m).sign(m * b1 + g * c1)
        m[...] = m * b2 + g * c2

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al. 2013), Keras 3's update including l2 shrinkage and beta."""

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name="ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        for arg, v in (("initial_accumulator_value", initial_accumulator_value),
                       ("l1_regularization_strength", l1_regularization_strength),
                       ("l2_regularization_strength", l2_regularization_strength),
                       ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if v < 0:
                raise ValueError(f"Ftrl: `{arg}` needs to be positive or zero, got {arg}={v}")
        if learning_rate_power > 0:
            raise ValueError(f"Ftrl: `learning_rate_power` needs to be negative or zero, got {learning_rate_power}")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def build(self, variables):
        super().build(variables)
        self._accum = self.add_slot("accumulator")
        for a in self._accum:
            a[...] = self.initial_accumulator_value
        self._linear = self.add_slot("linear")

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        acc, lin = self._accum[i], self._linear[i]
        args = (self.learning_rate_power, self.l1_regularization_strength, self.l2_regularization_strength,
                self.l2_shrinkage_regularization_strength, self.beta)
        if _fusable(var.data, g):
            return K.ftrl_update(var.data, g, acc, lin, lr, *args)
        xp = array_module(var.data)
        lr, p, l1, two_l2, two_s = K.ftrl_consts(lr, *args)
        w = var.data
        new_acc = acc + g * g
        pn = xp.power(new_acc, p)
        lin += (g + two_s * w) - ((pn - xp.power(acc, p)) / lr) * w
        var.data[...] = (xp.clip(lin, -l1, l1) - lin) / (pn / lr + two_l2)
        acc[...] = new_acc

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}

"""Adam and AdamW, Keras 3's formulas (bias correction folded into the step size `alpha`)."""
from __future__ import annotations

import math

from forgenet.autograd.tensor import array_module
from forgenet.kernels.optimizer import adam_update
from forgenet.optimizers.optimizer import Optimizer, _fusable


class Adam(Optimizer):
    """m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2);  w -= m * alpha / (sqrt(v) + eps),
    alpha = lr * sqrt(1 - b2^t) / (1 - b1^t). amsgrad uses max(v_hat, v) in place of v."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name="adam", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        for arg, v in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ValueError(f"{type(self).__name__}: {arg} must be a float in [0, 1), got {v!r}")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)

    def build(self, variables):
        super().build(variables)
        self._m = self.add_slot("momentum")
        self._v = self.add_slot("velocity")
        self._vhat = self.add_slot("velocity_hat") if self.amsgrad else None

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        t = self.iterations + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        vhat = self._vhat[i] if self._vhat is not None else None
        if _fusable(var.data, g):
            adam_update(var.data, g, self._m[i], self._v[i], vhat, alpha, self.beta_1, self.beta_2, self.epsilon)
        else:
            self._update_ufuncs(g, var, i, alpha)

    def _update_ufuncs(self, g, var, i, alpha):
        """The same step as numpy/CuPy ufuncs, for what the fused op does not take (a float64 gradient,
        a non-float32 or strided weight); the fused kernels round exactly as this does."""
        xp = array_module(var.data)
        m, v = self._m[i], self._v[i]
        a, b = self._views[i]
        xp.subtract(g, m, out=a)
        a *= 1 - self.beta_1
        m += a
        xp.multiply(g, g, out=a)
        a -= v
        a *= 1 - self.beta_2
        v += a
        if self._vhat is not None:
            v = xp.maximum(self._vhat[i], v, out=self._vhat[i])
        xp.multiply(m, alpha, out=a)
        xp.sqrt(v, out=b)
        b += self.epsilon
        a /= b
        var.data -= a

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (w -= w * weight_decay * lr before each step), as Keras."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a float, got None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)

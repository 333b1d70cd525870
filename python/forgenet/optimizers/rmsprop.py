"""RMSprop (plain or centered, with optional momentum), Keras 3's formulas: epsilon inside the sqrt."""
from __future__ import annotations

from forgenet.autograd.tensor import array_module
from forgenet.kernels.optimizer import rmsprop_update
from forgenet.optimizers.optimizer import Optimizer, _fusable


class RMSprop(Optimizer):
    """v = rho v + (1 - rho) g^2;  inc = lr g / sqrt(v + eps)  (centered: sqrt(v - a^2 + eps),
    a = rho a + (1 - rho) g);  momentum: mom = momentum * mom + inc, w -= mom; else w -= inc."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not isinstance(rho, (int, float)) or not 0 <= rho <= 1:
            raise ValueError(f"RMSprop: rho must be a float between 0 and 1, got {rho!r}")
        if not isinstance(momentum, (int, float)) or momentum < 0:
            raise ValueError(f"RMSprop: momentum must be a non-negative float, got {momentum!r}")
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def build(self, variables):
        super().build(variables)
        self._v = self.add_slot("velocity")
        self._mom = self.add_slot("momentum") if self.momentum > 0 else None
        self._avg = self.add_slot("average_gradient") if self.centered else None

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        if _fusable(var.data, g):
            avg = self._avg[i] if self._avg is not None else None
            mom = self._mom[i] if self._mom is not None else None
            rmsprop_update(var.data, g, self._v[i], avg, mom, lr, self.rho, self.momentum if mom is not None else 0.0,
                           self.epsilon)
            return
        xp = array_module(var.data)  # the same step as ufuncs, for what the fused op does not take
        rho, v = self.rho, self._v[i]
        a, b = self._views[i]
        v *= rho
        xp.multiply(g, g, out=a)
        a *= 1 - rho
        v += a
        if self._avg is not None:
            avg = self._avg[i]
            avg *= rho
            xp.multiply(g, 1 - rho, out=a)
            avg += a
            xp.multiply(avg, avg, out=b)
            xp.subtract(v, b, out=b)
            b += self.epsilon
        else:
            xp.add(v, self.epsilon, out=b)
        xp.sqrt(b, out=b)
        xp.multiply(g, lr, out=a)
        a /= b
        if self._mom is not None:
            mom = self._mom[i]
            mom *= self.momentum
            mom += a
            var.data -= mom
        else:
            var.data -= a

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}

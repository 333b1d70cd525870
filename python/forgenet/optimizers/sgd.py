"""Stochastic gradient descent with optional (Nesterov) momentum, Keras 3's formulas."""
from __future__ import annotations

from forgenet.autograd.tensor import array_module
from forgenet.kernels.optimizer import sgd_update
from forgenet.optimizers.optimizer import Optimizer, _fusable


class SGD(Optimizer):
    """m = momentum * m - lr * g;  w += m  (nesterov: w += momentum * m - lr * g); plain: w -= lr * g."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be a float between 0 and 1, got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        super().build(variables)
        self._m = self.add_slot("momentum") if self.momentum != 0 else None

    def update_step(self, g, var, lr):
        i = self._index[id(var)]
        if _fusable(var.data, g):
            m = self._m[i] if self._m is not None else None
            sgd_update(var.data, g, m, lr, self.momentum if m is not None else 0.0, self.nesterov)
            return
        xp = array_module(var.data)  # the same step as ufuncs, for what the fused op does not take
        step, t = self._views[i]
        xp.multiply(g, lr, out=step)  # lr * g
        if self._m is None:
            var.data -= step
            return
        m = self._m[i]
        m *= self.momentum
        m -= step
        if self.nesterov:
            xp.multiply(m, self.momentum, out=t)
            t -= step
            var.data += t
        else:
            var.data += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

"""The parameterised activations of Keras's activation layers (ReLU with slope/threshold/cap, ELU,
LeakyReLU): pointwise numpy on the forward, the piecewise derivative on the backward."""
from __future__ import annotations

from forgenet.autograd.tensor import Function, array_module


class _GeneralReLU(Function):
    """keras.activations.relu(x, negative_slope, max_value, threshold), piece by piece as Keras writes it:
    x kept where x > threshold (plain relu when threshold is 0), capped at max_value, and
    negative_slope * (x - threshold) added below the threshold."""

    def forward(self, x, negative_slope, max_value, threshold):
        xp = array_module(x)
        if threshold != 0.0:
            keep = x > threshold
        else:
            keep = x > 0
        y = xp.where(keep, x, 0.0)
        dy = keep.astype(x.dtype)
        if max_value is not None:
            # clip(y, 0, max_value): Keras clips whenever max_value is given
            y_c = xp.clip(y, 0.0, max_value)
            dy = dy * ((y > 0) & (y < max_value))
            y = y_c
        if negative_slope != 0.0:
            below = x < threshold
            y = y + xp.where(below, negative_slope * (x - threshold), 0.0)
            dy = dy + below * negative_slope
        self.save(dy.astype(x.dtype, copy=False))
        return y.astype(x.dtype, copy=False)

    def backward(self, g):
        return g * self.saved[0], None, None, None


class _ELU(Function):
    def forward(self, x, alpha):
        xp = array_module(x)
        e = xp.exp(xp.minimum(x, 0.0))
        self.save(x > 0, e, alpha)
        return xp.where(x > 0, x, alpha * (e - 1.0)).astype(x.dtype, copy=False)

    def backward(self, g):
        pos, e, alpha = self.saved
        return g * array_module(g).where(pos, 1.0, alpha * e).astype(g.dtype, copy=False), None


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    return _GeneralReLU.apply(x, float(negative_slope), None if max_value is None else float(max_value),
                              float(threshold))


def leaky_relu(x, negative_slope=0.2):
    return _GeneralReLU.apply(x, float(negative_slope), None, 0.0)


def elu(x, alpha=1.0):
    return _ELU.apply(x, float(alpha))


class _ClampMax(Function):
    def forward(self, x, cap):
        keep = x <= cap
        self.save(keep)
        return array_module(x).where(keep, x, cap).astype(x.dtype, copy=False)

    def backward(self, g):
        return g * self.saved[0], None


def clamp_max(x, cap):
    """min(x, cap) elementwise; the gradient passes where x <= cap."""
    return _ClampMax.apply(x, float(cap))

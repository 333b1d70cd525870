"""Layer normalisation on the layer_norm kernels (mean and rstd kept for the backward)."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function


class _LayerNorm(Function):
    def forward(self, x, gamma, beta, epsilon):
        y, mean, rstd = kernels.layer_norm(x, gamma, beta, epsilon=epsilon)
        self.save(x, gamma, mean, rstd, beta is not None)
        return y

    def backward(self, g):
        x, gamma, mean, rstd, has_beta = self.saved
        dx, dgamma, dbeta = kernels.layer_norm_backward(g, x, gamma, mean, rstd)
        return dx, (dgamma if gamma is not None else None), (dbeta if has_beta else None), None


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis; differentiable in all three."""
    return _LayerNorm.apply(x, gamma, beta, float(epsilon))

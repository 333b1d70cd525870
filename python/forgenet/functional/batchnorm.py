"""Batch normalisation on the fused batch_norm kernels: training (batch statistics, returned for the
moving averages) and inference (given statistics), both differentiable in x, gamma and beta."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function


class _BatchNormTrain(Function):
    def forward(self, x, gamma, beta, axis, epsilon):
        y, mean, var = kernels.batch_norm(x, gamma, beta, axis=axis, epsilon=epsilon)
        self.save(x, gamma, mean, var, axis, epsilon, beta is not None)
        return y, mean, var

    def backward(self, g, _gmean=None, _gvar=None):
        # the statistics feed only the moving averages (assigned, not differentiated), as in Keras
        x, gamma, mean, var, axis, epsilon, has_beta = self.saved
        dx, dgamma, dbeta = kernels.batch_norm_backward(g, x, gamma, mean, var, axis=axis, epsilon=epsilon,
                                                        training=True)
        return dx, (dgamma if gamma is not None else None), (dbeta if has_beta else None), None, None


class _BatchNormInference(Function):
    def forward(self, x, gamma, beta, mean, var, axis, epsilon):
        self.save(x, gamma, mean, var, axis, epsilon, beta is not None)
        return kernels.batch_norm_inference(x, gamma, beta, mean, var, axis=axis, epsilon=epsilon)

    def backward(self, g):
        x, gamma, mean, var, axis, epsilon, has_beta = self.saved
        dx, dgamma, dbeta = kernels.batch_norm_backward(g, x, gamma, mean, var, axis=axis, epsilon=epsilon,
                                                        training=False)
        return dx, (dgamma if gamma is not None else None), (dbeta if has_beta else None), None, None, None, None


def batch_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Normalise x with its own per-channel statistics over all axes but `axis`.

    Returns (y, mean, variance); mean and variance (C,) are Tensors carrying no gradient.
    """
    return _BatchNormTrain.apply(x, gamma, beta, int(axis), float(epsilon))


def batch_norm_inference(x, mean, variance, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta with constant (C,) statistics."""
    mean = getattr(mean, "data", mean)
    variance = getattr(variance, "data", variance)
    return _BatchNormInference.apply(x, gamma, beta, mean, variance, int(axis), float(epsilon))

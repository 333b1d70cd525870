"""Cross-entropy on logits through the fused softmax-cross-entropy kernel."""
from __future__ import annotations

from forgenet import kernels
from forgenet.autograd.tensor import Function


class _SoftmaxCrossEntropy(Function):
    """Per-sample loss (N,) from logits (N, C) and int labels (N,) or probabilities (N, C)."""

    def forward(self, logits, target):
        loss, grad = kernels.softmax_cross_entropy(logits, target)
        self.save(grad)
        return loss

    def backward(self, g):
        (grad,) = self.saved
        return grad * g[:, None], None


def softmax_cross_entropy(logits, target):
    return _SoftmaxCrossEntropy.apply(logits, target)

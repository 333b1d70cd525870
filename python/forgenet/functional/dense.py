"""x @ kernel + bias, optionally relu'd, as one graph node: what a Dense layer computes.

One node instead of three (matmul, add, relu) keeps the tape short, the bias and the ReLU are applied
in place on the GEMM's fresh output (no temporaries), and the backward takes the ReLU mask and the
bias gradient in one pass (kernels.bias_relu_backward). The float32 results are those of the three
separate ops: the same GEMM, then the same add and max in the same order.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar

import numpy as np

from forgenet import kernels
from forgenet.autograd.tensor import Function, array_module
from forgenet.functional.activation import relu_grad, relu_inplace
from forgenet.functional.math import _as_operand


# id(kernel array) -> (that array, its PackedB) while packed_weights() is open; None outside
_packed: ContextVar[dict | None] = ContextVar("forgenet_packed_dense_kernels", default=None)


@contextlib.contextmanager
def packed_weights():
    """Within this block each Dense kernel is packed for the GEMM once (kernels.gemm_pack_b) and the pack
    reused by every later batch: for loops in which no weight changes (predict). A kernel replaced by a
    new array (Variable.assign) is packed again; one changed in place inside the block would not be, so
    callers open it only where nothing can do that."""
    token = _packed.set({})
    try:
        yield
    finally:
        _packed.reset(token)


def _weight_operand(kernel):
    cache = _packed.get()
    if cache is None or type(kernel) is not np.ndarray:  # CuPy: the CUDA gemm packs nothing ahead
        return kernel
    hit = cache.get(id(kernel))
    if hit is None or hit[0] is not kernel:
        hit = cache[id(kernel)] = (kernel, kernels.gemm_pack_b(kernel))
    return hit[1]


class _Dense(Function):
    def forward(self, x, kernel, bias, relu):
        if kernel.ndim != 2 or x.ndim < 1 or x.shape[-1] != kernel.shape[0]:
            raise ValueError(f"dense: expected x (..., K) and kernel (K, N), got {tuple(x.shape)} and "
                             f"{tuple(kernel.shape)}")
        if bias is not None and tuple(bias.shape) != (kernel.shape[1],):
            raise ValueError(f"dense: bias must have shape ({kernel.shape[1]},), got {tuple(bias.shape)}")
        y = kernels.gemm(x.reshape(-1, x.shape[-1]), _weight_operand(kernel))
        xp = array_module(y)
        if bias is not None:
            xp.add(y, bias, out=y)
        if relu:  # y > 0 is all the backward needs, so the output itself is saved
            relu_inplace(y)
        self.save(x, kernel, bias is not None, y if relu else None)
        return y.reshape(x.shape[:-1] + (kernel.shape[1],))

    def backward(self, g):
        x, kernel, has_bias, y = self.saved
        need_x, need_k, need_b = self.needs_grad[:3] if self.needs_grad else (True, True, True)
        g2 = g.reshape(-1, g.shape[-1])
        db = None
        if has_bias and need_b:
            g2, db = kernels.bias_relu_backward(g2, y, relu=y is not None)
        elif y is not None:
            g2 = relu_grad(g2, y)
        dx = kernels.gemm(g2, kernel, trans_b=True).reshape(x.shape) if need_x else None
        dk = kernels.gemm(x.reshape(-1, x.shape[-1]), g2, trans_a=True) if need_k else None  # not for a frozen kernel
        return dx, dk, db, None


def dense(x, kernel, bias=None, relu=False):
    """x (..., K) @ kernel (K, N) + bias (N,), then relu when asked -> (..., N) float32.

    Differentiable in x, kernel and bias (constants join as float32, as in matmul).
    """
    x = _as_operand(x, kernel)
    kernel = _as_operand(kernel, x)
    if bias is not None:
        bias = _as_operand(bias, x)
    return _Dense.apply(x, kernel, bias, bool(relu))

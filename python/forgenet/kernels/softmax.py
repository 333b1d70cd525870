"""Softmax and the fused softmax-cross-entropy (the classifier head's forward and backward in one pass)."""
from __future__ import annotations

from forgenet.kernels._array import as_f32, as_labels, backend, index, out_kw


def _last_axis(x, axis: int, op: str):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for shape {tuple(x.shape)}")
    axis %= x.ndim
    return axis


def _xp(x):
    if type(x).__module__.startswith("cupy"):
        import cupy

        return cupy
    import numpy

    return numpy


def _out_needs_last(op, axis, ndim, out):
    if out is not None and axis != ndim - 1:
        raise ValueError(f"{op}: out= needs axis=-1 (the result along another axis is a moved view), got axis={axis}")


def softmax(x, axis: int = -1, *, out=None):
    """exp(x) / sum(exp(x)) along `axis`, computed stably (max subtracted). NaN rows stay NaN.

    out: a float32 C-contiguous array of x's shape to write into (axis=-1 only).

    Arrays: x float32 of any rank >= 1, C order; numpy (CPU) or CuPy (GPU) on one device, results new arrays of
    that kind. Returns float32 of x's shape.
    """
    x, axis = as_f32("softmax", "x", x), index("softmax", "axis", axis)
    mod = backend("softmax", x)
    # the last axis is the kernel's own; the contract (csrc/bindings/contracts/softmax.h) refuses a scalar
    if x.ndim == 0 or axis in (-1, x.ndim - 1):
        return mod.softmax(x, **out_kw(out))
    axis = _last_axis(x, axis, "softmax")
    _out_needs_last("softmax", axis, x.ndim, out)
    xp = _xp(x)
    y = mod.softmax(xp.ascontiguousarray(xp.moveaxis(x, axis, -1)))
    return xp.moveaxis(y, -1, axis)


def softmax_backward(dy, y, axis: int = -1, *, out=None):
    """Gradient of softmax given its output y: y * (dy - sum(dy * y, axis)).

    Arrays: dy and y float32 of one shape (rank >= 1), C order; numpy (CPU) or CuPy (GPU) on one device,
    results new arrays of that kind. Returns dx, float32 of y's shape.
    """
    dy = as_f32("softmax_backward", "dy", dy)
    y, axis = as_f32("softmax_backward", "y", y), index("softmax_backward", "axis", axis)
    mod = backend("softmax_backward", dy, y)
    # the contract refuses mismatched shapes and a scalar whatever the axis
    if dy.shape != y.shape or y.ndim == 0 or axis in (-1, y.ndim - 1):
        return mod.softmax_backward(dy, y, **out_kw(out))
    axis = _last_axis(y, axis, "softmax_backward")
    _out_needs_last("softmax_backward", axis, y.ndim, out)
    xp = _xp(y)
    move = lambda a: xp.ascontiguousarray(xp.moveaxis(a, axis, -1))  # noqa: E731
    return xp.moveaxis(mod.softmax_backward(move(dy), move(y)), -1, axis)


def softmax_cross_entropy(logits, target, *, out=None):
    """Per-sample cross-entropy of softmax(logits) against `target`, and its gradient.

    logits (N, C) float32; target either integer labels (N,) or probabilities (N, C).
    Returns (loss (N,), grad (N, C)) with grad = softmax(logits) - target: the derivative of each
    sample's loss with respect to its logits (scale by dloss / N for a mean). out: (loss, grad) buffers
    (either may be None).

    Arrays: logits (N, C) float32, C order; target int (N,) in [0, C) or float32 (N, C); numpy (CPU) or CuPy
    (GPU) on one device, results new arrays of that kind. Returns loss (N,) float32 and grad (N, C) float32.
    """
    op = "softmax_cross_entropy"
    logits = as_f32(op, "logits", logits, ndim=2)
    n, c = logits.shape
    if c < 1:  # the contract's rule too, but first here: the label range below needs a class
        raise ValueError(f"{op}: logits must have at least one class, got shape {tuple(logits.shape)}")
    xp = _xp(logits)
    t = target if type(target).__module__.startswith("cupy") else xp.asarray(target)
    if t.ndim == 1 and t.dtype.kind in "iu":
        t = as_labels(op, "labels", t, c)  # its shape is the contract's (csrc/bindings/contracts/softmax.h)
    elif t.dtype.kind in "iu" or t.ndim != 2:
        raise ValueError(f"{op}: target must be int labels of shape ({n},) or float32 probabilities of shape {tuple(logits.shape)}, "
                         f"got {t.dtype} of shape {tuple(t.shape)}")
    else:
        t = as_f32(op, "target", t, ndim=2)
    return backend(op, logits, t).softmax_cross_entropy(logits, t, **out_kw(out))

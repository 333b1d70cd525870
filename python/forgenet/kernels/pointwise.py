"""Fused pointwise steps: the ReLU in place on a fresh output; the ReLU mask on a gradient, with a dense layer's bias gradient in
the same pass. numpy arrays run on forgenet._C (one read of g and y, one write); CuPy arrays take the
equivalent elementwise expression on the GPU (there is no CUDA kernel for these yet).
"""
from __future__ import annotations

import numpy as np

from forgenet import _C
from forgenet.kernels._array import _kind, as_f32, out_kw


def _flag(op, name, v) -> bool:
    if v is True or v is False:
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    raise TypeError(f"{op}: {name} must be a bool, got {v!r}")


def _same_kind(op, *arrays):
    if all(a is None or type(a) is np.ndarray for a in arrays):  # the common case, kept cheap
        return "numpy"
    kinds = {_kind(a) for a in arrays if a is not None}
    if len(kinds) > 1:
        raise TypeError(f"{op}: all arrays must be on the same device, got a mix of {sorted(kinds)}")
    return kinds.pop()


def relu_(x):
    """x = max(x, 0) in place, returning x (a NaN stays NaN, as in numpy's maximum): the ReLU on a
    kernel's fresh output, one pass.

    Arrays: x float32, C order, writeable (in place: nothing is copied, so other layouts are a
    ValueError); numpy (CPU) or CuPy (GPU). Returns x.
    """
    op = "relu_"
    if _kind(x) == "cupy":
        import cupy

        if x.dtype != np.float32:
            raise TypeError(f"{op}: x must be float32, got {x.dtype}")
        return cupy.maximum(x, 0.0, out=x)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{op}: x must be a numpy or CuPy array (it is changed in place), got {type(x).__name__}")
    return _C.relu_(x)


def relu_backward(g, y, *, out=None):
    """g where y > 0, else 0: the gradient through y = relu(x) (y > 0 exactly where x > 0; a NaN y
    passes nothing). out: a buffer of g's shape to write into; it may be g itself.

    Arrays: g, y float32 of one shape, C order; numpy (CPU) or CuPy (GPU). Returns float32 like g.
    """
    op = "relu_backward"
    g, y = as_f32(op, "g", g), as_f32(op, "y", y)
    if _same_kind(op, g, y) == "cupy":
        import cupy

        if g.shape != y.shape:
            raise ValueError(f"{op}: y must have shape {tuple(g.shape)} (the shape of g), got {tuple(y.shape)}")
        return cupy.multiply(g, y > 0, out=out) if out is not None else g * (y > 0)
    return _C.relu_backward(g, y, **out_kw(out))


def bias_relu_backward(g, y=None, *, relu=True, out=None):
    """(dz, db) for z = x @ W + b followed by relu (relu=True, y its output) or nothing (relu=False, y
    None): dz = relu_backward(g, y) or g, db = dz summed over the rows. out: (dz, db) buffers (either
    None); dz may be g itself.

    Arrays: g (rows, cols) float32, y like g; numpy (CPU) or CuPy (GPU). Returns (float32 (rows, cols),
    float32 (cols,)).
    """
    op = "bias_relu_backward"
    relu = _flag(op, "relu", relu)
    g = as_f32(op, "g", g, ndim=2)
    if y is not None:
        y = as_f32(op, "y", y, ndim=2)
    if _same_kind(op, g, y) == "cupy":
        if relu != (y is not None):
            raise ValueError(f"{op}: y must be given exactly when relu=True")
        dz_out, db_out = (None, None) if out is None else out
        if relu:
            dz = relu_backward(g, y, out=dz_out)
        elif dz_out is not None:
            dz_out[...] = g
            dz = dz_out
        else:
            dz = g
        return dz, dz.sum(axis=0, out=db_out)
    return _C.bias_relu_backward(g, y, relu=relu, **out_kw(out))

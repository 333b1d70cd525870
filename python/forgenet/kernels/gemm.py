"""General matrix multiply: the building block of Dense layers and (through im2col) of convolutions."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet.kernels._array import as_f32, backend, out_kw


def _flag(name: str, v) -> bool:
    if v is True or v is False:  # the common case first: the ABC checks below cost microseconds a call
        return v
    if not isinstance(v, (bool, np.bool_, numbers.Integral)) or v not in (0, 1):
        raise TypeError(f"gemm: {name} must be a bool, got {v!r}")
    return bool(v)


def _scalar(name: str, v) -> float:
    if type(v) is float or type(v) is int:
        return float(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"gemm: {name} must be a real number, got {v!r}")
    return float(v)


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """alpha * op(a) @ op(b) + beta * c, with op(x) = x.T when trans_x; a new (M, N) float32 array.

    a, b (and c) are 2-D float32 arrays; op(a) is (M, K), op(b) is (K, N), c is (M, N). With beta == 0
    c is not read at all (NaN in it does not leak, as in BLAS) and may be omitted. The gradients of
    y = a @ b are gemm(dy, b, trans_b=True) for a and gemm(a, dy, trans_a=True) for b.

    out: an (M, N) float32 C-contiguous array to write the result into (and return); it may be c itself
    (BLAS's C in, C out) but may not otherwise share memory with a, b or c.

    Arrays: a (M, K), or (K, M) with trans_a; b (K, N), or (N, K) with trans_b; c (M, N). float32, row-major (C
    order; other strides are copied); numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind.
    Returns (M, N) float32.
    """
    trans_a, trans_b = _flag("trans_a", trans_a), _flag("trans_b", trans_b)
    alpha, beta = _scalar("alpha", alpha), _scalar("beta", beta)
    a = as_f32("gemm", "a", a, ndim=2)
    b = as_f32("gemm", "b", b, ndim=2)
    if c is not None:
        c = as_f32("gemm", "c", c, ndim=2)
    # shapes (inner dimensions, c) are the contract's (csrc/bindings/contracts/gemm.h), on both devices
    return backend("gemm", a, b, c).gemm(a, b, c, trans_a, trans_b, alpha, beta, **out_kw(out))

"""General matrix multiply: the building block of Dense layers and (through im2col) of convolutions."""
from __future__ import annotations

import numbers

import numpy as np

from forgenet import _C
from forgenet.kernels._array import _F32, _kind, as_f32, backend, out_kw

PackedB = _C.PackedB  # made only by gemm_pack_b


def _flag(name: str, v, op: str = "gemm") -> bool:
    if v is True or v is False:  # the common case first: the ABC checks below cost microseconds a call
        return v
    if not isinstance(v, (bool, np.bool_, numbers.Integral)) or v not in (0, 1):
        raise TypeError(f"{op}: {name} must be a bool, got {v!r}")
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

    b may be a PackedB from gemm_pack_b (CPU only): op(b) was fixed when it was packed, so trans_b must
    be False; the result is the same as with the array it was packed from.

    Arrays: a (M, K), or (K, M) with trans_a; b (K, N), or (N, K) with trans_b; c (M, N). float32, row-major (C
    order; other strides are copied); numpy (CPU) or CuPy (GPU) on one device, results new arrays of that kind.
    Returns (M, N) float32.
    """
    # The common call (float32 row-major numpy matrices, bool flags, float scalars) goes straight down:
    # the checks below cost ~2.5 us a call, 5% of a 32x512x128 product; the contract checks the rest.
    if (type(a) is np.ndarray and type(b) is np.ndarray and (c is None or type(c) is np.ndarray)
            and type(trans_a) is bool and type(trans_b) is bool and type(alpha) is float and type(beta) is float
            and a.dtype is _F32 and b.dtype is _F32 and a.ndim == 2 and b.ndim == 2
            and a.flags.c_contiguous and b.flags.c_contiguous
            and (c is None or (c.dtype is _F32 and c.ndim == 2 and c.flags.c_contiguous))):
        return _C.gemm(a, b, c, trans_a, trans_b, alpha, beta, **out_kw(out))
    trans_a, trans_b = _flag("trans_a", trans_a), _flag("trans_b", trans_b)
    alpha, beta = _scalar("alpha", alpha), _scalar("beta", beta)
    if type(b) is PackedB:
        if _kind(a) != "numpy" or (c is not None and _kind(c) != "numpy"):
            raise TypeError("gemm: a PackedB b runs on the CPU kernels only: a and c must be numpy arrays, got "
                            f"{type(a).__name__}" + ("" if c is None else f" and {type(c).__name__}"))
        a = as_f32("gemm", "a", a, ndim=2)
        if c is not None:
            c = as_f32("gemm", "c", c, ndim=2)
        # trans_b with a PackedB, the packed b's shape and ISA are the contract's (contracts/gemm.h)
        return _C.gemm(a, b, c, trans_a, trans_b, alpha, beta, **out_kw(out))
    a = as_f32("gemm", "a", a, ndim=2)
    b = as_f32("gemm", "b", b, ndim=2)
    if c is not None:
        c = as_f32("gemm", "c", c, ndim=2)
    # shapes (inner dimensions, c) are the contract's (csrc/bindings/contracts/gemm.h), on both devices
    return backend("gemm", a, b, c).gemm(a, b, c, trans_a, trans_b, alpha, beta, **out_kw(out))


def gemm_pack_b(b, *, trans_b=False):
    """op(b) (K, N) packed once into the panels gemm's micro-kernel reads, for a b used against many a's
    (a weight reused every step): gemm(a, packed, ...) then skips packing b on every call.

    Returns an opaque PackedB (shape = (K, N) of op(b), trans_b, isa, tile, nbytes). It is a copy (later
    changes to b do not reach it), bound to the instruction set this process runs (FORGENET_ISA), and
    cannot be pickled or copied: keep the array and pack again. CPU (numpy) only: a CuPy b raises
    NotImplementedError.

    Arrays: b (K, N), or (N, K) with trans_b; float32, row-major (C order; other strides are copied),
    numpy. Returns a PackedB (forgenet.kernels.PackedB) of shape (K, N).
    """
    trans_b = _flag("trans_b", trans_b, "gemm_pack_b")
    if b is not None and _kind(b) == "cupy":
        raise NotImplementedError("gemm_pack_b: CuPy arrays are not supported (the CUDA gemm packs nothing "
                                  "ahead; pass the CuPy array itself to gemm)")
    b = as_f32("gemm_pack_b", "b", b, ndim=2)
    return _C.gemm_pack_b(b, trans_b)

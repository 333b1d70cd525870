"""keras.ops numpy-style functions, differentiable on Tensors (keras/src/ops/numpy.py is the spec).

Differentiable functions are written once on Tensors with forgenet.functional (`@tensor_op`); the
ones without a gradient (comparisons, argmax, rounding, creation) are written on arrays
(`@array_op`) and hand back constant Tensors when given Tensors.
"""
from __future__ import annotations

import builtins

import numpy as np

from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional import activation as A
from forgenet.functional import linalg as L
from forgenet.functional import math as M
from forgenet.functional import pointwise as P
from forgenet.functional import reduce as R
from forgenet.functional import shape as S
from forgenet.ops._dispatch import array_op, as_array, tensor_op, xp_of

_FLOATX = "float32"


def _dt(dtype, default=None):
    if dtype is None:
        return np.dtype(default) if default is not None else None
    return np.dtype(getattr(dtype, "name", dtype) if not isinstance(dtype, str) else dtype)


def _xp(x):
    return array_module(x.data if isinstance(x, Tensor) else x)


def _float(x):
    """Integer/bool tensors enter float math as float32 (Keras promotes them to floatx)."""
    if x.dtype.kind in "fc":
        return x
    return Tensor(x.data.astype(np.float32)) if isinstance(x, Tensor) else x.astype(np.float32)


# ---- creation ------------------------------------------------------------------------------------
def zeros(shape, dtype=None): return np.zeros(shape, _dt(dtype, _FLOATX))
def ones(shape, dtype=None): return np.ones(shape, _dt(dtype, _FLOATX))
def empty(shape, dtype=None): return np.empty(shape, _dt(dtype, _FLOATX))


def full(shape, fill_value, dtype=None):
    fill_value = as_array(fill_value)
    fill_value = fill_value.data if isinstance(fill_value, Tensor) else fill_value
    return np.full(shape, fill_value, _dt(dtype, fill_value.dtype))


@array_op("x")
def zeros_like(x, dtype=None): return _xp(x).zeros(x.shape, _dt(dtype, x.dtype))


@array_op("x")
def ones_like(x, dtype=None): return _xp(x).ones(x.shape, _dt(dtype, x.dtype))


@array_op("x")
def empty_like(x, dtype=None): return _xp(x).empty(x.shape, _dt(dtype, x.dtype))


@array_op("x")
def full_like(x, fill_value, dtype=None): return _xp(x).full(x.shape, fill_value, _dt(dtype, x.dtype))


def eye(N, M=None, k=0, dtype=None): return np.eye(N, M, k, dtype=_dt(dtype, _FLOATX))
def identity(n, dtype=None): return np.eye(n, dtype=_dt(dtype, _FLOATX))
def tri(N, M=None, k=0, dtype=None): return np.tri(N, M, k, dtype=_dt(dtype, _FLOATX))


def arange(start, stop=None, step=1, dtype=None):
    if dtype is None:  # Keras: int32 for integer arguments, floatx otherwise
        ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step) if v is not None)
        dtype = "int32" if ints else _FLOATX
    return np.arange(start, stop, step, dtype=_dt(dtype)) if stop is not None else np.arange(start, step=step,
                                                                                            dtype=_dt(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    out = np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, axis=axis)
    if retstep:
        return out[0].astype(_dt(dtype, _FLOATX)), out[1]
    return out.astype(_dt(dtype, _FLOATX))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    return np.logspace(start, stop, num, endpoint=endpoint, base=base, axis=axis).astype(_dt(dtype, _FLOATX))


@array_op("x")
def array(x, dtype=None): return _xp(x).array(x, dtype=_dt(dtype))


@tensor_op("x")
def copy(x): return M.mul(x, 1.0) if x.dtype.kind == "f" else Tensor(x.data.copy())


# ---- arithmetic ----------------------------------------------------------------------------------
@tensor_op("x1", "x2")
def add(x1, x2): return M.add(x1, x2)


@tensor_op("x1", "x2")
def subtract(x1, x2): return M.sub(x1, x2)


@tensor_op("x1", "x2")
def multiply(x1, x2): return M.mul(x1, x2)


@tensor_op("x1", "x2")
def divide(x1, x2): return M.div(_float(x1), _float(x2))


true_divide = divide


@tensor_op("x1", "x2")
def divide_no_nan(x1, x2):
    x1, x2 = _float(x1), _float(x2)
    safe = P.where(x2.data == 0, 1.0, x2)
    return P.where(x2.data == 0, 0.0, M.div(x1, safe))


@tensor_op("x")
def negative(x): return M.mul(x, -1)


@tensor_op("x1", "x2")
def power(x1, x2):
    if isinstance(x2, Tensor) and x2.ndim == 0 and not x2.requires_grad:
        p = x2.data.item()
        return M.power(x1, p) if x1.dtype.kind == "f" else Tensor(x1.data ** x2.data)
    return P.pow(_float(x1), _float(x2))


@tensor_op("x")
def square(x): return P.square(x) if x.dtype.kind == "f" else Tensor(x.data * x.data)


@tensor_op("x")
def sqrt(x): return M.sqrt(_float(x))


@tensor_op("x")
def rsqrt(x): return P.rsqrt(_float(x))


@tensor_op("x")
def reciprocal(x): return P.reciprocal(_float(x))


@tensor_op("x")
def cbrt(x): return P.unary(_float(x), lambda xp, a: xp.cbrt(a), lambda xp, a, y: 1 / (3 * y * y))


@tensor_op("x")
def abs(x): return P.abs(x) if x.dtype.kind == "f" else Tensor(_xp(x).abs(x.data))


absolute = abs


@tensor_op("x")
def exp(x): return M.exp(_float(x))


@tensor_op("x")
def exp2(x): return M.exp(M.mul(_float(x), float(np.log(2.0))))


@tensor_op("x")
def expm1(x): return P.expm1(_float(x))


@tensor_op("x")
def log(x): return M.log(_float(x))


@tensor_op("x")
def log1p(x): return P.log1p(_float(x))


@tensor_op("x")
def log2(x): return P.log2(_float(x))


@tensor_op("x")
def log10(x): return P.log10(_float(x))


@tensor_op("x1", "x2")
def logaddexp(x1, x2):
    x1, x2 = _float(x1), _float(x2)
    m = P.maximum(x1, x2)
    return m + P.log1p(M.exp(M.mul(P.abs(x1 - x2), -1.0)))


for _n in ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh"):
    def _make(name):
        fn = getattr(P, name)

        @tensor_op("x")
        def op(x): return fn(_float(x))
        op.__name__ = op.__qualname__ = name
        return op
    globals()[_n] = _make(_n)
del _n, _make


@tensor_op("x")
def tanh(x): return A.tanh(_float(x))


@tensor_op("x1", "x2")
def arctan2(x1, x2): return P.arctan2(_float(x1), _float(x2))


@tensor_op("x1", "x2")
def maximum(x1, x2):
    if not _any_float(x1, x2):
        return Tensor(_xp(x1).maximum(_d(x1), _d(x2)))
    return P.maximum(x1, x2)


@tensor_op("x1", "x2")
def minimum(x1, x2):
    if not _any_float(x1, x2):
        return Tensor(_xp(x1).minimum(_d(x1), _d(x2)))
    return P.minimum(x1, x2)


def _d(x):
    return x.data if isinstance(x, Tensor) else x


def _any_float(*xs):
    return builtins.any(getattr(x, "dtype", np.dtype("float32")).kind == "f" or isinstance(x, float) for x in xs)


@tensor_op("x")
def clip(x, x_min, x_max):
    if x.dtype.kind != "f":
        return Tensor(_xp(x).clip(x.data, x_min, x_max))
    return P.clip(x, x_min, x_max)


@tensor_op("condition", "x1", "x2")
def where(condition, x1=None, x2=None):
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in _xp(condition).nonzero(condition.data))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    return P.where(condition, x1, x2)


@tensor_op("x1", "x2")
def mod(x1, x2):  # gradient 1 for x1 (x1 - floor(x1/x2) x2), as TensorFlow's floormod
    xp = _xp(x1)
    q = xp.floor_divide(_d(x1), _d(x2))
    return M.sub(x1, M.mul(x2, q)) if _any_float(x1, x2) else Tensor(xp.mod(_d(x1), _d(x2)))


@array_op("x1", "x2")
def floor_divide(x1, x2): return xp_of(x1, x2).floor_divide(x1, x2)


# ---- non-differentiable elementwise --------------------------------------------------------------
def _array_fn(name, npname=None, out_dtype=None):
    npname = npname or name

    @array_op("x")
    def op(x):
        y = getattr(xp_of(x), npname)(x)
        return y.astype(out_dtype) if out_dtype else y
    op.__name__ = op.__qualname__ = name
    return op


sign = _array_fn("sign")
floor = _array_fn("floor")
ceil = _array_fn("ceil")
trunc = _array_fn("trunc")
isnan = _array_fn("isnan")
isinf = _array_fn("isinf")
isfinite = _array_fn("isfinite")
logical_not = _array_fn("logical_not")
bitwise_not = bitwise_invert = _array_fn("bitwise_not", "invert")
real = _array_fn("real")
imag = _array_fn("imag")
conj = conjugate = _array_fn("conj")


@array_op("x")
def round(x, decimals=0): return xp_of(x).round(x, decimals)


@array_op("x")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return xp_of(x).nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _compare(name):
    @array_op("x1", "x2")
    def op(x1, x2): return getattr(xp_of(x1, x2), name)(x1, x2)
    op.__name__ = op.__qualname__ = name
    return op


equal, not_equal, greater, greater_equal, less, less_equal = (
    _compare(n) for n in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal"))
logical_and, logical_or, logical_xor = (_compare(n) for n in ("logical_and", "logical_or", "logical_xor"))
bitwise_and, bitwise_or, bitwise_xor = (_compare(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))
left_shift, right_shift = _compare("left_shift"), _compare("right_shift")
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


@array_op("x1", "x2")
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return xp_of(x1, x2).isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


# ---- reductions ----------------------------------------------------------------------------------
@tensor_op("x")
def sum(x, axis=None, keepdims=False): return M.sum(x, axis=_ax(axis), keepdims=keepdims)


@tensor_op("x")
def mean(x, axis=None, keepdims=False): return M.mean(_float(x), axis=_ax(axis), keepdims=keepdims)


@tensor_op("x")
def max(x, axis=None, keepdims=False, initial=None):
    if initial is not None:
        raise NotImplementedError("forgenet.ops.max: initial= is not supported")
    return R.max(x, axis=_ax(axis), keepdims=keepdims) if x.dtype.kind == "f" else \
        Tensor(_xp(x).max(x.data, axis=_ax(axis), keepdims=keepdims))


@tensor_op("x")
def min(x, axis=None, keepdims=False, initial=None):
    if initial is not None:
        raise NotImplementedError("forgenet.ops.min: initial= is not supported")
    return R.min(x, axis=_ax(axis), keepdims=keepdims) if x.dtype.kind == "f" else \
        Tensor(_xp(x).min(x.data, axis=_ax(axis), keepdims=keepdims))


amax, amin = max, min


@tensor_op("x")
def prod(x, axis=None, keepdims=False, dtype=None):
    out = R.prod(x, axis=_ax(axis), keepdims=keepdims) if x.dtype.kind == "f" else \
        Tensor(_xp(x).prod(x.data, axis=_ax(axis), keepdims=keepdims))
    return out if dtype is None else Tensor(out.data.astype(_dt(dtype)))


@tensor_op("x")
def var(x, axis=None, keepdims=False): return R.var(_float(x), axis=_ax(axis), keepdims=keepdims)


@tensor_op("x")
def std(x, axis=None, keepdims=False): return R.std(_float(x), axis=_ax(axis), keepdims=keepdims)


@tensor_op("x")
def cumsum(x, axis=None, dtype=None):
    out = R.cumsum(x, axis) if x.dtype.kind == "f" else Tensor(_xp(x).cumsum(x.data, axis=axis))
    return out if dtype is None else Tensor(out.data.astype(_dt(dtype)))


@tensor_op("x")
def cumprod(x, axis=None, dtype=None):
    out = R.cumprod(x, axis) if x.dtype.kind == "f" else Tensor(_xp(x).cumprod(x.data, axis=axis))
    return out if dtype is None else Tensor(out.data.astype(_dt(dtype)))


@tensor_op("x")
def average(x, axis=None, weights=None):
    x = _float(x)
    if weights is None:
        return M.mean(x, axis=axis)
    w = _d(as_array(weights)).astype(np.float32)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = w.shape[0]
        w = w.reshape(shape)
    total = _xp(x).broadcast_to(w, x.shape).sum(axis=axis)
    return M.div(M.sum(M.mul(x, w), axis=axis), total)


@array_op("x")
def any(x, axis=None, keepdims=False): return xp_of(x).any(x, axis=_ax(axis), keepdims=keepdims)


@array_op("x")
def all(x, axis=None, keepdims=False): return xp_of(x).all(x, axis=_ax(axis), keepdims=keepdims)


@array_op("x")
def count_nonzero(x, axis=None): return xp_of(x).count_nonzero(x, axis=_ax(axis)).astype(np.int32)


@array_op("x")
def argmax(x, axis=None, keepdims=False):
    return xp_of(x).argmax(x, axis=axis, keepdims=keepdims).astype(np.int32)


@array_op("x")
def argmin(x, axis=None, keepdims=False):
    return xp_of(x).argmin(x, axis=axis, keepdims=keepdims).astype(np.int32)


@array_op("x")
def argsort(x, axis=-1): return xp_of(x).argsort(x, axis=axis, kind="stable").astype(np.int32)


@array_op("x")
def argpartition(x, kth, axis=-1): return xp_of(x).argpartition(x, kth, axis=axis).astype(np.int32)


@tensor_op("x")
def sort(x, axis=-1):
    order = _xp(x).argsort(x.data, axis=axis, kind="stable")
    return S.take_along_axis(x, order, axis=axis) if x.dtype.kind == "f" else Tensor(_xp(x).sort(x.data, axis=axis))


@tensor_op("x")
def median(x, axis=None, keepdims=False): return quantile(x, 0.5, axis=axis, keepdims=keepdims)


@tensor_op("x")
def quantile(x, q, axis=None, method="linear", keepdims=False):
    if method != "linear":
        raise NotImplementedError(f"forgenet.ops.quantile: only method='linear' is supported, got {method!r}")
    x = _float(x)
    if axis is None:
        x, ax = M.reshape(x, (-1,)), 0
    else:
        ax = axis % x.ndim
    xs = S.moveaxis(sort(x, axis=ax), ax, -1)
    n = xs.shape[-1]
    qs = np.atleast_1d(np.asarray(q, np.float64))
    outs = []
    for qi in qs:
        pos = qi * (n - 1)
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        frac = float(pos - lo)
        v = xs[..., lo] * (1.0 - frac) + xs[..., hi] * frac if hi != lo else xs[..., lo]
        if keepdims:
            v = S.expand_dims(v, ax) if axis is not None else M.reshape(v, (1,) * len(x.shape))
        outs.append(v)
    return outs[0] if np.ndim(q) == 0 else S.stack(outs, 0)


@tensor_op("x")
def logsumexp(x, axis=None, keepdims=False): return R.logsumexp(_float(x), axis=_ax(axis), keepdims=keepdims)


@tensor_op("x")
def trace(x, offset=0, axis1=0, axis2=1): return M.sum(S.diagonal(x, offset, axis1, axis2), axis=-1)


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# ---- shapes --------------------------------------------------------------------------------------
@tensor_op("x")
def reshape(x, newshape): return M.reshape(x, (newshape,) if isinstance(newshape, int) else tuple(newshape))


@tensor_op("x")
def ravel(x): return M.reshape(x, (-1,))


@tensor_op("x")
def transpose(x, axes=None): return M.transpose(x, axes)


@tensor_op("x")
def expand_dims(x, axis): return S.expand_dims(x, axis)


@tensor_op("x")
def squeeze(x, axis=None): return S.squeeze(x, axis)


@tensor_op("xs*")
def concatenate(xs, axis=0):
    if axis is None:
        return M.concatenate([M.reshape(t, (-1,)) for t in xs], axis=0)
    return M.concatenate(list(xs), axis=axis)


@tensor_op("x1", "x2")
def append(x1, x2, axis=None):
    if axis is None:
        return M.concatenate([M.reshape(x1, (-1,)), M.reshape(x2, (-1,))], axis=0)
    return M.concatenate([x1, x2], axis=axis)


@tensor_op("x*")
def stack(x, axis=0): return S.stack(list(x), axis)


@tensor_op("xs*")
def hstack(xs): return M.concatenate(list(xs), axis=0 if xs[0].ndim == 1 else 1)


@tensor_op("xs*")
def vstack(xs): return M.concatenate([t if t.ndim > 1 else M.reshape(t, (1, -1)) for t in xs], axis=0)


@tensor_op("x")
def split(x, indices_or_sections, axis=0): return S.split(x, indices_or_sections, axis)


@tensor_op("x")
def array_split(x, indices_or_sections, axis=0):
    n, k = x.shape[axis], int(indices_or_sections)
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return S.split(x, list(np.cumsum(sizes)[:-1]), axis)


@tensor_op("x")
def tile(x, repeats): return S.tile(x, repeats)


@tensor_op("x")
def repeat(x, repeats, axis=None):
    r = repeats.data if isinstance(repeats, Tensor) else repeats
    return S.repeat(x, np.asarray(r) if not isinstance(r, int) else r, axis)


@tensor_op("x")
def flip(x, axis=None): return S.flip(x, axis)


@tensor_op("x")
def roll(x, shift, axis=None): return S.roll(x, shift, axis)


@tensor_op("x")
def broadcast_to(x, shape): return S.broadcast_to(x, shape)


@tensor_op("x")
def pad(x, pad_width, mode="constant", constant_values=None):
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values is only for mode='constant', got mode={mode!r}")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)) if np.ndim(pad_width) < 2 \
        else np.asarray(pad_width, dtype=np.int64)
    return S.pad(x, [tuple(p) for p in pw.tolist()], mode, 0 if constant_values is None else constant_values)


@tensor_op("x")
def swapaxes(x, axis1, axis2): return S.swapaxes(x, axis1, axis2)


@tensor_op("x")
def moveaxis(x, source, destination): return S.moveaxis(x, source, destination)


@tensor_op("x")
def tril(x, k=0): return S.tril(x, k)


@tensor_op("x")
def triu(x, k=0): return S.triu(x, k)


@tensor_op("x")
def diagonal(x, offset=0, axis1=0, axis2=1): return S.diagonal(x, offset, axis1, axis2)


@tensor_op("x")
def diag(x, k=0):
    if x.ndim == 2:
        return S.diagonal(x, k)
    n = x.shape[0] + builtins.abs(k)
    idx = np.full((n, n), -1, np.int64)
    r = np.arange(x.shape[0])
    idx[r + builtins.max(-k, 0), r + builtins.max(k, 0)] = r
    return S._Gather.apply(x, idx, 0.0)


@tensor_op("x")
def diff(x, n=1, axis=-1):
    for _ in range(n):
        sl = [slice(None)] * x.ndim
        hi, lo = list(sl), list(sl)
        hi[axis], lo[axis] = slice(1, None), slice(None, -1)
        x = M.getitem(x, tuple(hi)) - M.getitem(x, tuple(lo))
    return x


@tensor_op("x")
def take(x, indices, axis=None): return S.take(x, indices, axis)


@tensor_op("x")
def take_along_axis(x, indices, axis=None): return S.take_along_axis(x, indices, axis)


@tensor_op("x")
def get_item(x, key): return M.getitem(x, key)


@array_op("x")
def nonzero(x): return tuple(i.astype(np.int32) for i in xp_of(x).nonzero(x))


@array_op("x")
def ndim(x): return x.ndim


@array_op("x")
def size(x): return int(np.prod(x.shape))


@array_op("x*")
def meshgrid(*x, indexing="xy"): return list(xp_of(*x).meshgrid(*x, indexing=indexing))


@array_op("x")
def bincount(x, weights=None, minlength=0, sparse=False):
    if sparse:
        raise ValueError("forgenet.ops.bincount: sparse=True is not supported")
    xp = xp_of(x)
    w = None if weights is None else _d(as_array(weights))
    if x.ndim == 2:  # Keras: a 2-D input counts each row
        n = builtins.max(int(x.max()) + 1 if x.size else 0, minlength)
        return xp.stack([xp.bincount(r, None if w is None else w[i], n) for i, r in enumerate(x)])
    out = xp.bincount(x, w, minlength)
    return out.astype(np.int32) if w is None else out.astype(w.dtype)


@array_op("x")
def digitize(x, bins): return np.digitize(x, np.asarray(_d(bins))).astype(np.int32)


@array_op("sorted_sequence", "values")
def searchsorted(sorted_sequence, values, side="left"):
    return xp_of(sorted_sequence).searchsorted(sorted_sequence, values, side=side).astype(np.int32)


@array_op("x")
def histogram(x, bins=10, range=None):
    h, e = np.histogram(x, bins=bins, range=range)
    return h.astype(np.int32), e.astype(np.float32)


@array_op("x")
def unravel_index(x, shape): return tuple(i.astype(np.int32) for i in np.unravel_index(x, shape))


@tensor_op("choicelist*")
def select(condlist, choicelist, default=0):
    out = None
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        base = out if out is not None else default
        c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
        out = P.where(c, choice, base if isinstance(base, Tensor) else float(base))
    return out


# ---- products ------------------------------------------------------------------------------------
@tensor_op("x1", "x2")
def matmul(x1, x2): return L.matmul(x1, x2)


@tensor_op("x1", "x2")
def dot(x1, x2): return L.dot(L._f32(x1), L._f32(x2))


@tensor_op("x1", "x2")
def tensordot(x1, x2, axes=2): return L.tensordot(L._f32(x1), L._f32(x2), axes)


@tensor_op("x1", "x2")
def outer(x1, x2): return M.mul(M.reshape(x1, (-1, 1)), M.reshape(x2, (1, -1)))


@tensor_op("x1", "x2")
def inner(x1, x2):
    if x1.ndim == 0 or x2.ndim == 0:
        return M.mul(x1, x2)
    return L.tensordot(L._f32(x1), L._f32(x2), ([x1.ndim - 1], [x2.ndim - 1]))


@tensor_op("x1", "x2")
def vdot(x1, x2): return M.sum(M.mul(M.reshape(x1, (-1,)), M.reshape(x2, (-1,))))


@tensor_op("x1", "x2")
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = S.moveaxis(x1, axisa, -1), S.moveaxis(x2, axisb, -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError("forgenet.ops.cross: only 3-vectors are supported")
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = S.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return S.moveaxis(c, -1, axisc)


@tensor_op("operands*")
def einsum(subscripts, *operands): return L.einsum(subscripts, *[L._f32(o) for o in operands])



# ---- norms (keras.ops.norm; no decompositions: the spectral and nuclear norms are not offered) ----------
@tensor_op("x")
def norm(x, ord=None, axis=None, keepdims=False):
    x = _float(x)
    ax = _ax(axis)
    matrix = isinstance(ax, tuple) and len(ax) == 2 or (ax is None and x.ndim == 2 and ord is not None)
    if ax is None and not matrix:
        x, ax = M.reshape(x, (-1,)), 0
    if matrix:
        ax = (0, 1) if ax is None else tuple(a % x.ndim for a in ax)
        if ord in (None, "fro"):
            return M.sqrt(M.sum(x * x, axis=ax, keepdims=keepdims))
        if ord in (1, -1, np.inf, -np.inf):
            red, keep = (ax[0], ax[1]) if ord in (1, -1) else (ax[1], ax[0])
            s = M.sum(P.abs(x), axis=red, keepdims=True)
            pick = R.max if ord in (1, np.inf) else R.min
            out = pick(s, axis=keep, keepdims=True)
            return out if keepdims else M.reshape(out, tuple(n for i, n in enumerate(x.shape) if i not in ax))
        raise NotImplementedError(f"forgenet.ops.norm: matrix ord={ord!r} needs a singular value decomposition, "
                                  "which forgenet does not provide")
    a = P.abs(x)
    if ord is None or ord == 2:
        return M.sqrt(M.sum(x * x, axis=ax, keepdims=keepdims))
    if ord == np.inf:
        return R.max(a, axis=ax, keepdims=keepdims)
    if ord == -np.inf:
        return R.min(a, axis=ax, keepdims=keepdims)
    if ord == 0:
        return Tensor((x.data != 0).sum(axis=ax, keepdims=keepdims).astype(np.float32))
    if ord == 1:
        return M.sum(a, axis=ax, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"forgenet.ops.norm: ord={ord!r} is only valid for matrices (a 2-tuple axis)")
    return M.power(M.sum(P.pow(a, float(ord)), axis=ax, keepdims=keepdims), 1.0 / float(ord))

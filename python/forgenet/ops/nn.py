"""keras.ops neural-network functions (keras/src/ops/nn.py), on our kernels through forgenet.functional."""
from __future__ import annotations

import numpy as np

from forgenet import config
from forgenet import functional as F
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.functional import math as M
from forgenet.functional import pointwise as P
from forgenet.functional import reduce as R
from forgenet.functional import shape as S
from forgenet.ops._dispatch import array_op, tensor_op


def _f(x):
    return x if x.dtype == np.float32 or x.dtype.kind == "f" else Tensor(x.data.astype(np.float32))


def _act(name, fn):
    @tensor_op("x")
    def op(x): return fn(_f(x))
    op.__name__ = op.__qualname__ = name
    return op


relu = _act("relu", F.relu)
relu6 = _act("relu6", P.relu6)
sigmoid = _act("sigmoid", F.sigmoid)
tanh = _act("tanh", F.tanh)
softplus = _act("softplus", P.softplus)
softsign = _act("softsign", P.softsign)
silu = swish = _act("silu", P.silu)
log_sigmoid = _act("log_sigmoid", P.log_sigmoid)
hard_sigmoid = _act("hard_sigmoid", P.hard_sigmoid)
hard_silu = hard_swish = _act("hard_silu", P.hard_silu)
hard_tanh = _act("hard_tanh", P.hard_tanh)
selu = _act("selu", P.selu)
mish = _act("mish", P.mish)


@tensor_op("x")
def sparse_plus(x):
    return P.unary(_f(x), lambda xp, a: xp.where(a <= -1, 0.0, xp.where(a >= 1, a, (a + 1) ** 2 / 4)),
                   lambda xp, a, y: xp.where(a <= -1, 0.0, xp.where(a >= 1, 1.0, (a + 1) / 2)))


@tensor_op("x")
def squareplus(x, b=4):
    b = float(b)
    return P.unary(_f(x), lambda xp, a: (a + xp.sqrt(a * a + b)) / 2, lambda xp, a, y: (1 + a / xp.sqrt(a * a + b)) / 2)


@tensor_op("x")
def tanh_shrink(x): return _f(x) - F.tanh(_f(x))


@tensor_op("x")
def soft_shrink(x, threshold=0.5):
    t = float(threshold)
    return P.unary(_f(x), lambda xp, a: xp.where(a > t, a - t, xp.where(a < -t, a + t, 0.0)),
                   lambda xp, a, y: (a > t) | (a < -t))


@tensor_op("x")
def hard_shrink(x, threshold=0.5):
    t = float(threshold)
    return P.unary(_f(x), lambda xp, a: xp.where(xp.abs(a) > t, a, 0.0), lambda xp, a, y: xp.abs(a) > t)


@tensor_op("x")
def threshold(x, threshold, default_value):
    t, d = float(threshold), float(default_value)
    return P.unary(_f(x), lambda xp, a: xp.where(a > t, a, d), lambda xp, a, y: a > t)


@tensor_op("x")
def leaky_relu(x, negative_slope=0.2): return P.leaky_relu(_f(x), negative_slope)


@tensor_op("x")
def elu(x, alpha=1.0): return P.elu(_f(x), alpha)


@tensor_op("x")
def celu(x, alpha=1.0): return P.celu(_f(x), alpha)


@tensor_op("x")
def gelu(x, approximate=True):
    """keras.ops.gelu: the tanh approximation by default (keras.activations.gelu defaults to exact)."""
    return P.gelu_tanh(_f(x)) if approximate else F.gelu(_f(x))


@tensor_op("x")
def glu(x, axis=-1):
    a, b = S.split(_f(x), 2, axis)
    return a * F.sigmoid(b)


@tensor_op("x")
def softmax(x, axis=-1):
    x = _f(x)
    if axis is None or isinstance(axis, (tuple, list)):  # Keras: softmax over several axes at once
        axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in axis)
        return M.exp(x - R.logsumexp(x, axis=axes, keepdims=True))
    return F.softmax(x, axis)


@tensor_op("x")
def log_softmax(x, axis=-1):
    x = _f(x)
    axes = tuple(range(x.ndim)) if axis is None else axis
    return x - R.logsumexp(x, axis=axes, keepdims=True)


# ---- classification helpers --------------------------------------------------------------------
@array_op("x")
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise ValueError("forgenet.ops.one_hot: sparse=True is not supported")
    xp = array_module(x)
    x = xp.asarray(x).astype(np.int64)
    out = (x[..., None] == xp.arange(num_classes)).astype(dtype or "float32")  # ids outside the range: all zero
    return out if axis in (-1, out.ndim - 1) else xp.moveaxis(out, -1, axis)


@array_op("x")
def multi_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise ValueError("forgenet.ops.multi_hot: sparse=True is not supported")
    xp = array_module(x)
    x = xp.asarray(x).astype(np.int64)
    batched = x.ndim > 1
    x2 = x if batched else x[None]
    out = xp.zeros((x2.shape[0], num_classes), dtype or "float32")
    for i in range(x2.shape[0]):
        ids = x2[i][(x2[i] >= 0) & (x2[i] < num_classes)]
        out[i, ids] = 1
    return out if batched else out[0]


@array_op("x")
def top_k(x, k, sorted=True):
    """(values, indices) of the k largest along the last axis, largest first; ties: the lower index first."""
    xp = array_module(x)
    idx = xp.argsort(-x, axis=-1, kind="stable")[..., :k]
    return xp.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)


@array_op("targets", "predictions")
def in_top_k(targets, predictions, k):
    """Whether each target's prediction is among the k largest (ties count in, as TensorFlow)."""
    xp = array_module(predictions)
    t = xp.asarray(targets).astype(np.int64).reshape(-1)
    tv = xp.take_along_axis(predictions, t[:, None], axis=-1)
    return (predictions > tv).sum(axis=-1) < k


# ---- normalisation and statistics ---------------------------------------------------------------
@tensor_op("x")
def moments(x, axes, keepdims=False, synchronized=False):
    x = _f(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    mean = M.mean(x, axis=axes, keepdims=True)
    d = x - mean
    variance = M.mean(d * d, axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = S.squeeze(mean, axes)
    return mean, variance


@tensor_op("x", "mean", "variance", "offset", "scale")
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def b(t):
        return M.reshape(t, tuple(shape))
    y = (x - b(mean)) * M.power(b(variance) + epsilon, -0.5)
    if scale is not None:
        y = y * b(scale)
    if offset is not None:
        y = y + b(offset)
    return y


@tensor_op("x")
def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(||x||_order, epsilon) (for order 2 as Keras: x * min(rsqrt(sum x^2), 1 / epsilon))."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"forgenet.ops.normalize: order must be an int >= 1, got {order!r}")
    x = _f(x)
    if x.ndim == 0:
        x = M.reshape(x, (1,))
    eps = config.epsilon() if epsilon is None else float(epsilon)
    if order == 2:
        return x * P.minimum(P.rsqrt(M.sum(x * x, axis=axis, keepdims=True)), 1.0 / eps)
    norm = M.power(M.sum(M.power(P.abs(x), order), axis=axis, keepdims=True), 1.0 / order)
    return x / P.maximum(norm, eps)


@tensor_op("x1", "x2")
def psnr(x1, x2, max_val):
    d = _f(x1) - _f(x2)
    mse = M.mean(d * d)
    return M.mul(M.log(M.div(float(max_val) ** 2, mse)), float(10.0 / np.log(10.0)))


# ---- losses on arrays/Tensors (keras.ops.*_crossentropy) -------------------------------------------
@tensor_op("target", "output")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from forgenet.losses import categorical_crossentropy as cce
    if axis != -1:
        raise NotImplementedError("forgenet.ops.categorical_crossentropy: only axis=-1")
    return cce(target, output, from_logits=from_logits)


@tensor_op("target", "output")
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from forgenet.losses import sparse_categorical_crossentropy as scce
    if axis != -1:
        raise NotImplementedError("forgenet.ops.sparse_categorical_crossentropy: only axis=-1")
    return scce(target.data, output, from_logits=from_logits)


@tensor_op("target", "output")
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise (not averaged over the last axis), as keras.ops.binary_crossentropy."""
    x = _f(output)
    t = target.data.astype(np.float32)
    if from_logits:
        return P.maximum(x, 0.0) - x * t + P.log1p(M.exp(M.mul(P.abs(x), -1.0)))
    eps = config.epsilon()
    p = P.clip(x, eps, 1 - eps)
    return M.mul(t * M.log(p) + (1.0 - t) * M.log(1.0 - p), -1.0)


# ---- convolution, pooling, attention ------------------------------------------------------------
def _tuple(v, n, what):
    t = (v,) * n if isinstance(v, int) else tuple(v)
    if len(t) != n:
        raise ValueError(f"forgenet.ops.{what}: expected {n} values, got {v!r}")
    return t


def _channels_last(fn, data_format):
    if data_format not in (None, "channels_last"):
        raise NotImplementedError(f"forgenet.ops.{fn}: only data_format='channels_last' is supported, got "
                                  f"{data_format!r}")


@tensor_op("inputs", "kernel")
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D or 2-D convolution, channels last, on the conv2d kernel (1-D as height 1)."""
    _channels_last("conv", data_format)
    nd = inputs.ndim - 2
    if nd not in (1, 2):
        raise NotImplementedError(f"forgenet.ops.conv: only 1-D and 2-D convolutions, got inputs of rank {inputs.ndim}")
    if any(d != 1 for d in _tuple(dilation_rate, nd, "conv")):
        raise NotImplementedError("forgenet.ops.conv: dilation_rate > 1 is not supported")
    if kernel.shape[-2] != inputs.shape[-1]:
        raise NotImplementedError(f"forgenet.ops.conv: grouped convolution (kernel in-channels {kernel.shape[-2]} "
                                  f"vs {inputs.shape[-1]} input channels) is not supported")
    x, k = _f(inputs), _f(kernel)
    if nd == 1:
        s = _tuple(strides, 1, "conv")
        y = F.conv2d(S.expand_dims(x, 1), S.expand_dims(k, 0), None, (1, s[0]), padding.lower())
        return S.squeeze(y, 1)
    return F.conv2d(x, k, None, _tuple(strides, 2, "conv"), padding.lower())


def _pool(which, inputs, pool_size, strides, padding, data_format):
    _channels_last(which, data_format)
    nd = inputs.ndim - 2
    fn = F.max_pool2d if which == "max_pool" else F.avg_pool2d
    if nd == 1:
        p = _tuple(pool_size, 1, which)
        s = p if strides is None else _tuple(strides, 1, which)
        return S.squeeze(fn(S.expand_dims(_f(inputs), 1), (1, p[0]), (1, s[0]), padding.lower()), 1)
    if nd != 2:
        raise NotImplementedError(f"forgenet.ops.{which}: only 1-D and 2-D pooling, got inputs of rank {inputs.ndim}")
    p = _tuple(pool_size, 2, which)
    return fn(_f(inputs), p, p if strides is None else _tuple(strides, 2, which), padding.lower())


@tensor_op("inputs")
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format)


@tensor_op("inputs")
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format)


@tensor_op("query", "key", "value")
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """query (B, T, N, H), key/value (B, S, K, H) with N a multiple of K; on the fused attention kernel
    unless a bias or mask needs the score matrix (bias takes no gradient)."""
    if query.ndim != 4:
        raise ValueError(f"forgenet.ops.dot_product_attention: expected 4-D (batch, seq, heads, dim) inputs, "
                         f"got query of shape {query.shape}")
    if attn_logits_soft_cap is not None:
        raise NotImplementedError("forgenet.ops.dot_product_attention: attn_logits_soft_cap is not supported")
    q, k, v = (S.swapaxes(_f(t), 1, 2) for t in (query, key, value))  # -> (B, heads, seq, dim)
    if k.shape[1] != q.shape[1]:
        if q.shape[1] % k.shape[1]:
            raise ValueError(f"forgenet.ops.dot_product_attention: query heads {q.shape[1]} must be a multiple of "
                             f"key heads {k.shape[1]}")
        r = q.shape[1] // k.shape[1]
        k, v = S.repeat(k, r, 1), S.repeat(v, r, 1)
    if bias is None and mask is None:
        o = F.attention(q, k, v, causal=bool(is_causal), scale=scale)
    else:
        xp = array_module(q.data)
        nq, nk = q.shape[2], k.shape[2]
        add = xp.zeros((1, 1, nq, nk), np.float32)
        if bias is not None:
            add = add + xp.asarray(bias.data if isinstance(bias, Tensor) else bias, dtype=np.float32)
        keep = xp.ones((nq, nk), bool)
        if is_causal:
            keep = xp.tril(keep)
        if mask is not None:
            keep = keep & xp.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
        add = xp.where(keep, add, np.float32(-1e9)).astype(np.float32)
        add = xp.broadcast_to(add, (q.shape[0], q.shape[1], nq, nk))
        d = q.shape[-1]
        s = 1.0 / np.sqrt(d) if scale is None else float(scale)
        from forgenet.functional.attention import _MaterialisedAttention
        o, _ = _MaterialisedAttention.apply(q, k, v, xp.ascontiguousarray(add), None, s)
    return S.swapaxes(o, 1, 2)

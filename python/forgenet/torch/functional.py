"""Differentiable functions on torch tensors, each one forgenet kernel (torch.ops.forgenet.*) underneath:
through the custom op under torch.compile and every other tracer, called directly in plain eager code.

Layouts are forgenet's (NHWC images, (KH, KW, Cin, Cout) conv kernels, (D, 4U) LSTM kernels), except
the torch drop-ins `linear`, `cross_entropy` and `scaled_dot_product_attention`, which take torch's
arguments and layouts. float32 tensors on the CPU, or on a CUDA device when forgenet._cuda is built.
"""
from __future__ import annotations

import numbers
import operator
from functools import reduce

import torch

# torch.ops.forgenet's ops by name; plain eager CPU calls skip the custom-op dispatcher (_eager.py)
from forgenet.torch._eager import ops as _ops


def _tensor(fn: str, name: str, t, optional: bool = False):
    if t is None and optional:
        return None
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"forgenet.torch.{fn}: {name} must be a torch.Tensor, got {type(t).__name__}")
    return t


def _pair(fn: str, name: str, v) -> list[int]:
    # exact-type checks first: isinstance against the numbers ABCs costs ~1 us a call, more than some kernels
    if type(v) is int:
        return [v, v]
    if type(v) in (tuple, list) and len(v) == 2 and type(v[0]) is int and type(v[1]) is int:
        return [v[0], v[1]]
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (int(v), int(v))
    try:
        h, w = (operator.index(t) for t in v)
    except (TypeError, ValueError):
        raise ValueError(f"forgenet.torch.{fn}: {name} must be an int or a pair of ints, got {v!r}") from None
    return [h, w]


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * c for 2-D float32 tensors (forgenet.kernels.gemm), differentiable."""
    a, b = _tensor("gemm", "a", a), _tensor("gemm", "b", b)
    c = _tensor("gemm", "c", c, optional=True)
    return _ops.gemm(a, b, c, bool(trans_a), bool(trans_b), float(alpha), float(beta))


def linear(input, weight, bias=None):
    """torch.nn.functional.linear: input (*, in) @ weight (out, in)^T + bias (out,), as one gemm."""
    input, weight = _tensor("linear", "input", input), _tensor("linear", "weight", weight)
    bias = _tensor("linear", "bias", bias, optional=True)
    if weight.dim() != 2 or input.dim() < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"forgenet.torch.linear: input (*, {weight.shape[-1] if weight.dim() else '?'}) and weight "
                         f"(out, in) must agree, got input {tuple(input.shape)} and weight {tuple(weight.shape)}")
    lead = input.shape[:-1]
    x = input.reshape(-1, input.shape[-1])
    out = weight.shape[0]
    c = None if bias is None else bias.expand(x.shape[0], out)
    y = _ops.gemm(x, weight, c, False, True, 1.0, 0.0 if bias is None else 1.0)
    return y.reshape(*lead, out)


def conv2d(x, kernel, bias=None, *, strides=1, padding="valid"):
    """forgenet.kernels.conv2d on tensors: x (N,H,W,Cin), kernel (KH,KW,Cin,Cout) -> (N,Ho,Wo,Cout)."""
    x, kernel = _tensor("conv2d", "x", x), _tensor("conv2d", "kernel", kernel)
    bias = _tensor("conv2d", "bias", bias, optional=True)
    return _ops.conv2d(x, kernel, bias, _pair("conv2d", "strides", strides), _padding("conv2d", padding))


def _padding(fn, padding):
    if type(padding) is str and (padding == "valid" or padding == "same"):
        return padding
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"forgenet.torch.{fn}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def _pool(kind, x, pool_size, strides, padding):
    fn = f"{kind}_pool2d"
    x = _tensor(fn, "x", x)
    size = _pair(fn, "pool_size", pool_size)
    step = size if strides is None else _pair(fn, "strides", strides)
    return getattr(_ops, fn)(x, size, step, _padding(fn, padding))


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """forgenet.kernels.max_pool2d on an NHWC tensor; strides default to pool_size."""
    return _pool("max", x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """forgenet.kernels.avg_pool2d on an NHWC tensor (padding never counted in a mean)."""
    return _pool("avg", x, pool_size, strides, padding)


def softmax(x, axis=-1):
    """forgenet.kernels.softmax along `axis`."""
    return _ops.softmax(_tensor("softmax", "x", x), operator.index(axis))


def softmax_cross_entropy(logits, target):
    """Per-sample cross-entropy (N,) of softmax(logits (N, C)) against int labels (N,) or probabilities (N, C)."""
    logits, target = _tensor("softmax_cross_entropy", "logits", logits), _tensor("softmax_cross_entropy", "target", target)
    return _ops.softmax_cross_entropy(logits, target)[0]


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """torch.nn.functional.cross_entropy for input (N, C) and class-index (N,) or probability (N, C) targets."""
    fn = "cross_entropy"
    input, target = _tensor(fn, "input", input), _tensor(fn, "target", target)
    for name, val, ok in (("weight", weight, weight is None), ("size_average", size_average, size_average is None),
                          ("reduce", reduce, reduce is None), ("label_smoothing", label_smoothing, label_smoothing == 0)):
        if not ok:
            raise NotImplementedError(f"forgenet.torch.{fn}: {name}={val!r} is not supported (only the default)")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"forgenet.torch.{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if input.dim() != 2:
        raise NotImplementedError(f"forgenet.torch.{fn}: input must be (N, C), got shape {tuple(input.shape)}")
    if target.dtype.is_floating_point:
        loss = _ops.softmax_cross_entropy(input, target)[0]
        return loss if reduction == "none" else (loss.sum() if reduction == "sum" else loss.mean())
    keep = target != ignore_index
    loss = _ops.softmax_cross_entropy(input, torch.where(keep, target, 0))[0] * keep
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / keep.sum()


_LSTM_ARGS = ("x", "h0", "c0", "kernel", "recurrent_kernel", "bias")
_grad_enabled = torch._C.is_grad_enabled


def lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    """forgenet.kernels.lstm on tensors: x (N,T,D), h0/c0 (N,U), kernel (D,4U), recurrent_kernel (U,4U),
    bias (4U,), gates i,f,c,o. Returns (y (N,T,U), h_T, c_T); keeps the reserve for backward when needed."""
    args = (x, h0, c0, kernel, recurrent_kernel, bias)
    training = False
    for t in args:  # one pass, no generator: this runs on every step of a training loop
        if not isinstance(t, torch.Tensor):
            for name, t in zip(_LSTM_ARGS, args):
                _tensor("lstm", name, t)
        training = training or t.requires_grad
    training = training and _grad_enabled()
    y, h, c, _reserve = _ops.lstm(*args, training)
    return y, h, c


def embedding(ids, embeddings):
    """embeddings[ids]: ids any integer shape, embeddings (input_dim, output_dim)."""
    return _ops.embedding(_tensor("embedding", "ids", ids), _tensor("embedding", "embeddings", embeddings))


def attention(q, k, v, *, causal=False, scale=None):
    """forgenet.kernels.attention on tensors: q (B,H,Nq,d), k (B,H,Nk,d), v (B,H,Nk,dv) -> (B,H,Nq,dv)."""
    q, k, v = (_tensor("attention", n, t) for n, t in (("q", q), ("k", k), ("v", v)))
    return _ops.attention(q, k, v, bool(causal), None if scale is None else float(scale))[0]


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """torch.nn.functional.scaled_dot_product_attention on forgenet's fused attention kernel.

    query (..., L, E), key (..., S, E), value (..., S, Ev) with the same leading dims (with enable_gqa,
    key/value may have fewer heads, dim -3, a divisor of query's). is_causal masks top-left aligned,
    as torch does. attn_mask and dropout_p > 0 are not supported: NotImplementedError, never ignored.
    """
    if (attn_mask is None and dropout_p == 0.0 and not enable_gqa and scale is None and isinstance(query, torch.Tensor)
            and query.dim() == 4):
        # (B, H, L, E), the kernel's own layout, whose contract checks every shape: only a call it refuses
        # pays for the checks below (which then say what is wrong in this function's words, or let the
        # kernel's own error through)
        try:
            return _ops.attention(query, key, value, bool(is_causal), None)[0]
        except (TypeError, ValueError, RuntimeError):  # RuntimeError: the custom op's schema refusing a non-tensor
            pass
    fn = "scaled_dot_product_attention"
    q, k, v = (_tensor(fn, n, t) for n, t in (("query", query), ("key", key), ("value", value)))
    if attn_mask is not None:
        raise NotImplementedError(f"forgenet.torch.{fn}: attn_mask is not supported (use is_causal=True for a causal mask)")
    if dropout_p != 0.0:
        raise NotImplementedError(f"forgenet.torch.{fn}: dropout_p={dropout_p!r} is not supported (only 0.0)")
    if not (q.dim() == k.dim() == v.dim()) or q.dim() < 2:
        raise ValueError(f"forgenet.torch.{fn}: query, key and value must have one rank >= 2, got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if enable_gqa and q.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hk = q.shape[-3], k.shape[-3]
        if hk == 0 or hq % hk or v.shape[-3] != hk:
            raise ValueError(f"forgenet.torch.{fn}: with enable_gqa the query heads ({hq}) must be a multiple of the "
                             f"key/value heads ({hk}, {v.shape[-3]})")
        k, v = k.repeat_interleave(hq // hk, dim=-3), v.repeat_interleave(hq // hk, dim=-3)
    lead = q.shape[:-2]
    if k.shape[:-2] != lead or v.shape[:-2] != lead:
        raise ValueError(f"forgenet.torch.{fn}: query, key and value must share their leading dims, got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    scale = None if scale is None else float(scale)
    if q.dim() == 4:  # (B, H, L, E): the kernel's own layout
        return _ops.attention(q, k, v, bool(is_causal), scale)[0]
    b = reduce(operator.mul, lead, 1)
    as4 = lambda t: t.reshape(1, b, t.shape[-2], t.shape[-1])  # noqa: E731
    o = _ops.attention(as4(q), as4(k), as4(v), bool(is_causal), scale)[0]
    return o.reshape(*lead, q.shape[-2], v.shape[-1])


def layer_norm(x, gamma=None, beta=None, *, epsilon=1e-3):
    """forgenet.kernels.layer_norm over the last axis; gamma/beta (C,) or None."""
    x = _tensor("layer_norm", "x", x)
    gamma, beta = _tensor("layer_norm", "gamma", gamma, True), _tensor("layer_norm", "beta", beta, True)
    return _ops.layer_norm(x, gamma, beta, float(epsilon))[0]


__all__ = ["gemm", "linear", "conv2d", "max_pool2d", "avg_pool2d", "softmax", "softmax_cross_entropy",
           "cross_entropy", "lstm", "embedding", "attention", "scaled_dot_product_attention", "layer_norm"]

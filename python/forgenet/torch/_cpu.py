"""Each op's CPU implementation on torch tensors: forgenet's CPU kernels on zero-copy views.

One function per op with the op's schema (the arguments of torch.ops.forgenet.<name>), shared by the
custom ops' CPU branch and by the eager fast path (_eager.py), so both compute the same thing.

The ops the benches time (gemm, conv2d, lstm, attention and their backwards) call forgenet._C with
DLPack capsules: ~0.5 us a tensor where Tensor.numpy(force=True) costs ~2 us, and without
forgenet.kernels' Python checks, which _C's contracts repeat in C++ anyway. Anything _C refuses (a
wrong dtype or rank, a bad argument) is run again through forgenet.kernels, which converts what it may
and otherwise raises its own words: validation and error messages stay forgenet.kernels' own.
"""
from __future__ import annotations

import numpy as np
import torch

from forgenet import _C, kernels

_from_numpy = torch.from_numpy
_contiguous = np.ascontiguousarray
_to_dlpack = torch._C._to_dlpack
# what _C raises for arguments it refuses, before any kernel runs (so the retry repeats no work);
# AttributeError: a None where a tensor belongs, for forgenet.kernels to name
_REFUSED = (TypeError, ValueError, AttributeError)


def _np(t):
    # force=True detaches in C++ (no copy for a plain CPU tensor): cheaper than t.detach().numpy()
    return None if t is None else t.numpy(force=True)


def _dl(t):
    """t as a DLPack capsule for _C; contiguous() is t itself when it already is (the kernels read dense
    rows). DLPack does not carry torch's negative bit (torch.conj(z).imag): every caller resolves it
    first (the dispatcher for the custom ops, the eager route and backward for the fast path)."""
    return _to_dlpack(t.contiguous())


def _t(a) -> torch.Tensor:
    # outputs are fresh arrays owned by the kernels; contiguous so strides match the fake kernels
    return _from_numpy(_contiguous(a))


def gemm(a, b, c, trans_a, trans_b, alpha, beta):
    try:
        y = _C.gemm(_dl(a), _dl(b), None if c is None else _dl(c), trans_a, trans_b, alpha, beta)
    except _REFUSED:
        y = kernels.gemm(_np(a), _np(b), _np(c), trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta)
    return _from_numpy(y)  # _C's outputs are new C-contiguous arrays


def conv2d(x, kernel, bias, strides, padding):
    try:
        y = _C.conv2d(_dl(x), _dl(kernel), None if bias is None else _dl(bias), strides=strides, padding=padding)
    except _REFUSED:
        y = kernels.conv2d(_np(x), _np(kernel), _np(bias), strides=tuple(strides), padding=padding)
    return _from_numpy(y)


def conv2d_backward(dy, x, kernel, strides, padding, need_dx):
    try:
        dx, dk, db = _C.conv2d_backward(_dl(dy), _dl(x), _dl(kernel), strides=strides, padding=padding,
                                        need_dx=need_dx)
    except _REFUSED:
        dx, dk, db = kernels.conv2d_backward(_np(dy), _np(x), _np(kernel), strides=tuple(strides), padding=padding,
                                             need_dx=need_dx)
    return (dy.new_empty(0) if dx is None else _from_numpy(dx)), _from_numpy(dk), _from_numpy(db)


def max_pool2d(x, pool_size, strides, padding):
    return _t(kernels.max_pool2d(_np(x), tuple(pool_size), tuple(strides), padding))


def max_pool2d_backward(dy, x, pool_size, strides, padding):
    return _t(kernels.max_pool2d_backward(_np(dy), _np(x), tuple(pool_size), tuple(strides), padding))


def avg_pool2d(x, pool_size, strides, padding):
    return _t(kernels.avg_pool2d(_np(x), tuple(pool_size), tuple(strides), padding))


def avg_pool2d_backward(dy, x, pool_size, strides, padding):
    return _t(kernels.avg_pool2d_backward(_np(dy), _np(x), tuple(pool_size), tuple(strides), padding))


def softmax(x, axis):
    return _t(kernels.softmax(_np(x), axis))


def softmax_backward(dy, y, axis):
    return _t(kernels.softmax_backward(_np(dy), _np(y), axis))


def softmax_cross_entropy(logits, target):
    loss, grad = kernels.softmax_cross_entropy(_np(logits), _np(target))
    return _t(loss), _t(grad)


def lstm(x, h0, c0, kernel, recurrent_kernel, bias, training):
    try:
        out = _C.lstm(_dl(x), _dl(h0), _dl(c0), _dl(kernel), _dl(recurrent_kernel), _dl(bias), training)
    except _REFUSED:
        out = kernels.lstm(_np(x), _np(h0), _np(c0), _np(kernel), _np(recurrent_kernel), _np(bias), training=training)
    y, h, c = _from_numpy(out[0]), _from_numpy(out[1]), _from_numpy(out[2])
    return y, h, c, (_from_numpy(out[3]) if training else x.new_empty(0))


def lstm_backward(dy, dh_T, dc_T, x, h0, c0, kernel, recurrent_kernel, bias, reserve):
    try:
        grads = _C.lstm_backward(None if dy is None else _dl(dy), None if dh_T is None else _dl(dh_T),
                                 None if dc_T is None else _dl(dc_T), _dl(x), _dl(h0), _dl(c0), _dl(kernel),
                                 _dl(recurrent_kernel), _dl(bias), _dl(reserve))
    except _REFUSED:
        grads = kernels.lstm_backward(_np(dy), _np(dh_T), _np(dc_T), _np(x), _np(h0), _np(c0), _np(kernel),
                                      _np(recurrent_kernel), _np(bias), _np(reserve))
    return tuple(_from_numpy(g) for g in grads)


def embedding(ids, embeddings):
    return _t(kernels.embedding(_np(ids), _np(embeddings)))


def embedding_backward(dy, ids, input_dim):
    return _t(kernels.embedding_backward(_np(dy), _np(ids), input_dim))


def attention(q, k, v, causal, scale):
    try:
        o, lse = _C.attention(_dl(q), _dl(k), _dl(v), causal, scale)
    except _REFUSED:
        o, lse = kernels.attention(_np(q), _np(k), _np(v), causal=causal, scale=scale, return_lse=True)
    return _from_numpy(o), _from_numpy(lse)


def attention_backward(do, q, k, v, o, lse, causal, scale):
    try:
        dq, dk, dv = _C.attention_backward(_dl(do), _dl(q), _dl(k), _dl(v), _dl(o), _dl(lse), causal, scale)
    except _REFUSED:
        dq, dk, dv = kernels.attention_backward(_np(do), _np(q), _np(k), _np(v), _np(o), _np(lse), causal=causal,
                                                scale=scale)
    return _from_numpy(dq), _from_numpy(dk), _from_numpy(dv)


def layer_norm(x, gamma, beta, epsilon):
    y, mean, rstd = kernels.layer_norm(_np(x), _np(gamma), _np(beta), epsilon=epsilon)
    return _t(y), _t(mean), _t(rstd)


def layer_norm_backward(dy, x, gamma, mean, rstd):
    dx, dgamma, dbeta = kernels.layer_norm_backward(_np(dy), _np(x), _np(gamma), _np(mean), _np(rstd))
    return _t(dx), _t(dgamma), _t(dbeta)

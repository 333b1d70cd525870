"""Each op's CPU implementation on torch tensors: forgenet.kernels on zero-copy numpy views.

One function per op with the op's schema (the arguments of torch.ops.forgenet.<name>), shared by the
custom ops' CPU branch and by the eager fast path (_eager.py), so both compute the same thing.
Validation and error messages are forgenet.kernels' own.
"""
from __future__ import annotations

import numpy as np
import torch

from forgenet import kernels

_from_numpy = torch.from_numpy
_contiguous = np.ascontiguousarray


def _np(t):
    # force=True detaches in C++ (no copy for a plain CPU tensor): cheaper than t.detach().numpy()
    return None if t is None else t.numpy(force=True)


def _t(a) -> torch.Tensor:
    # outputs are fresh arrays owned by the kernels; contiguous so strides match the fake kernels
    return _from_numpy(_contiguous(a))


def gemm(a, b, c, trans_a, trans_b, alpha, beta):
    return _t(kernels.gemm(_np(a), _np(b), _np(c), trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta))


def conv2d(x, kernel, bias, strides, padding):
    return _t(kernels.conv2d(_np(x), _np(kernel), _np(bias), strides=tuple(strides), padding=padding))


def conv2d_backward(dy, x, kernel, strides, padding, need_dx):
    dx, dk, db = kernels.conv2d_backward(_np(dy), _np(x), _np(kernel), strides=tuple(strides), padding=padding,
                                         need_dx=need_dx)
    return (dy.new_empty((0,)) if dx is None else _t(dx)), _t(dk), _t(db)


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
    out = kernels.lstm(_np(x), _np(h0), _np(c0), _np(kernel), _np(recurrent_kernel), _np(bias), training=training)
    y, h, c = _t(out[0]), _t(out[1]), _t(out[2])
    return y, h, c, (_t(out[3]) if training else x.new_empty((0,)))


def lstm_backward(dy, dh_T, dc_T, x, h0, c0, kernel, recurrent_kernel, bias, reserve):
    grads = kernels.lstm_backward(_np(dy), _np(dh_T), _np(dc_T), _np(x), _np(h0), _np(c0), _np(kernel),
                                  _np(recurrent_kernel), _np(bias), _np(reserve))
    return tuple(_t(g) for g in grads)


def embedding(ids, embeddings):
    return _t(kernels.embedding(_np(ids), _np(embeddings)))


def embedding_backward(dy, ids, input_dim):
    return _t(kernels.embedding_backward(_np(dy), _np(ids), input_dim))


def attention(q, k, v, causal, scale):
    o, lse = kernels.attention(_np(q), _np(k), _np(v), causal=causal, scale=scale, return_lse=True)
    return _t(o), _t(lse)


def attention_backward(do, q, k, v, o, lse, causal, scale):
    dq, dk, dv = kernels.attention_backward(_np(do), _np(q), _np(k), _np(v), _np(o), _np(lse), causal=causal,
                                            scale=scale)
    return _t(dq), _t(dk), _t(dv)


def layer_norm(x, gamma, beta, epsilon):
    y, mean, rstd = kernels.layer_norm(_np(x), _np(gamma), _np(beta), epsilon=epsilon)
    return _t(y), _t(mean), _t(rstd)


def layer_norm_backward(dy, x, gamma, mean, rstd):
    dx, dgamma, dbeta = kernels.layer_norm_backward(_np(dy), _np(x), _np(gamma), _np(mean), _np(rstd))
    return _t(dx), _t(dgamma), _t(dbeta)

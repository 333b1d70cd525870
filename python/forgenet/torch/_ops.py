"""forgenet's kernels as torch.library custom ops: torch.ops.forgenet.<name>.

Each op has a real kernel (CPU through forgenet.kernels, CUDA through forgenet._cuda), a fake kernel
(output shapes only, for torch.compile / FakeTensor / meta tensors) and, for the forward ops, an
autograd formula whose backward is itself a forgenet op. Layouts are forgenet's: NHWC images,
(KH, KW, Cin, Cout) conv kernels, (D, 4U) LSTM kernels with gates i, f, c, o; float32 throughout
(integer ids and labels). Auxiliary outputs (attention's lse, layer norm's mean and rstd, the LSTM's
reserve, softmax_cross_entropy's grad) are marked non-differentiable: they exist for the backward.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.library import custom_op, register_autograd, register_fake

from forgenet._shapes import window_out
from forgenet.torch import _cpu
from forgenet.torch._backend import cuda, device_of

_ops = torch.ops.forgenet

# name -> (setup_context, grads): grads(k, ctx, *output_grads) is each forward op's autograd formula,
# written once against a namespace k of the ops it calls. The custom ops run it with k = torch.ops.forgenet;
# the eager fast path (_eager.py) with its own direct routes to the same kernels.
AUTOGRAD: dict = {}


def _autograd(name: str, setup, grads):
    AUTOGRAD[name] = (setup, grads)
    register_autograd(f"forgenet::{name}", lambda ctx, *g: grads(_ops, ctx, *g), setup_context=setup)


# _no_zero_grads: the ops with auxiliary outputs (attention's lse, the LSTM's reserve, layer norm's mean and
# rstd, softmax_cross_entropy's grad) turn off torch's materialising of unused outputs' gradients. Otherwise
# every backward fills a zero tensor of each of those outputs' shapes, work that grows with the data, for
# a formula that never reads them; the formulas take None instead.


def _empty_like_fake(ref: Tensor, shape) -> Tensor:
    return ref.new_empty(tuple(int(s) for s in shape), dtype=torch.float32)


# ---------------------------------------------------------------------------------------------- gemm
@custom_op("forgenet::gemm", mutates_args=())
def gemm(a: Tensor, b: Tensor, c: Optional[Tensor], trans_a: bool, trans_b: bool, alpha: float, beta: float) -> Tensor:
    dev = device_of("gemm", a, b, c)
    if dev.type == "cuda":
        return cuda("gemm", dev)(a, b, c, trans_a, trans_b, alpha, beta)
    return _cpu.gemm(a, b, c, trans_a, trans_b, alpha, beta)


@register_fake("forgenet::gemm")
def _(a, b, c, trans_a, trans_b, alpha, beta):
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    return _empty_like_fake(a, (m, n))


def _gemm_setup(ctx, inputs, output):
    a, b, c, ctx.trans_a, ctx.trans_b, ctx.alpha, ctx.beta = inputs
    ctx.save_for_backward(a, b)
    ctx.has_c = c is not None


def _gemm_grads(k, ctx, dy):
    a, b = ctx.saved_tensors
    ta, tb, alpha = ctx.trans_a, ctx.trans_b, ctx.alpha
    da = db = dc = None
    need_a, need_b, need_c = ctx.needs_input_grad[:3]
    # y = alpha op(a) op(b): d op(a) = alpha dy op(b)^T, d op(b) = alpha op(a)^T dy, each written as
    # one gemm in the operands' stored layout
    if need_a:
        da = k.gemm(b, dy, None, tb, True, alpha, 0.0) if ta else k.gemm(dy, b, None, False, not tb, alpha, 0.0)
    if need_b:
        db = k.gemm(dy, a, None, True, ta, alpha, 0.0) if tb else k.gemm(a, dy, None, not ta, False, alpha, 0.0)
    if need_c and ctx.has_c:
        dc = dy * ctx.beta
    return da, db, dc, None, None, None, None


_autograd("gemm", _gemm_setup, _gemm_grads)


# -------------------------------------------------------------------------------------------- conv2d
@custom_op("forgenet::conv2d", mutates_args=())
def conv2d(x: Tensor, kernel: Tensor, bias: Optional[Tensor], strides: list[int], padding: str) -> Tensor:
    dev = device_of("conv2d", x, kernel, bias)
    if dev.type == "cuda":
        return cuda("conv2d", dev)(x, kernel, bias, strides=tuple(strides), padding=padding)
    return _cpu.conv2d(x, kernel, bias, strides, padding)


@register_fake("forgenet::conv2d")
def _(x, kernel, bias, strides, padding):
    n, ho, wo = window_out("forgenet.torch.conv2d", x.shape, kernel.shape[:2], strides, padding)
    return _empty_like_fake(x, (n, ho, wo, kernel.shape[3]))


@custom_op("forgenet::conv2d_backward", mutates_args=())
def conv2d_backward(dy: Tensor, x: Tensor, kernel: Tensor, strides: list[int], padding: str,
                    need_dx: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(dx, dkernel, dbias); dx is an empty (0,) tensor when need_dx is False."""
    dev = device_of("conv2d_backward", dy, x, kernel)
    if dev.type != "cuda":
        return _cpu.conv2d_backward(dy, x, kernel, strides, padding, need_dx)
    dx, dk, db = cuda("conv2d_backward", dev)(dy, x, kernel, strides=tuple(strides), padding=padding, need_dx=need_dx)
    return (dy.new_empty((0,)) if dx is None else dx), dk, db


@register_fake("forgenet::conv2d_backward")
def _(dy, x, kernel, strides, padding, need_dx):
    dx = _empty_like_fake(x, x.shape if need_dx else (0,))
    return dx, _empty_like_fake(x, kernel.shape), _empty_like_fake(x, (kernel.shape[3],))


def _conv_setup(ctx, inputs, output):
    x, kernel, bias, ctx.strides, ctx.padding = inputs
    ctx.save_for_backward(x, kernel)
    ctx.has_bias = bias is not None


def _conv_grads(k, ctx, dy):
    x, kernel = ctx.saved_tensors
    need_x, need_k, need_b = ctx.needs_input_grad[:3]
    dx, dk, db = k.conv2d_backward(dy.contiguous(), x, kernel, ctx.strides, ctx.padding, bool(need_x))
    return (dx if need_x else None), (dk if need_k else None), (db if need_b and ctx.has_bias else None), None, None


_autograd("conv2d", _conv_setup, _conv_grads)


# ------------------------------------------------------------------------------------------- pooling
def _pool_ops(kind: str):
    name, bname = f"{kind}_pool2d", f"{kind}_pool2d_backward"
    fwd_cpu, bwd_cpu = getattr(_cpu, name), getattr(_cpu, bname)

    def forward(x: Tensor, pool_size: list[int], strides: list[int], padding: str) -> Tensor:
        dev = device_of(name, x)
        if dev.type == "cuda":
            return cuda(name, dev)(x, tuple(pool_size), tuple(strides), padding)
        return fwd_cpu(x, pool_size, strides, padding)

    def backward_op(dy: Tensor, x: Tensor, pool_size: list[int], strides: list[int], padding: str) -> Tensor:
        dev = device_of(bname, dy, x)
        if dev.type == "cuda":
            return cuda(bname, dev)(dy, x, tuple(pool_size), tuple(strides), padding)
        return bwd_cpu(dy, x, pool_size, strides, padding)

    forward.__name__, backward_op.__name__ = name, bname
    fwd = custom_op(f"forgenet::{name}", forward, mutates_args=())
    bwd = custom_op(f"forgenet::{bname}", backward_op, mutates_args=())

    @fwd.register_fake
    def _(x, pool_size, strides, padding):
        n, ho, wo = window_out(f"forgenet.torch.{name}", x.shape, pool_size, strides, padding)
        return _empty_like_fake(x, (n, ho, wo, x.shape[3]))

    @bwd.register_fake
    def _(dy, x, pool_size, strides, padding):
        return _empty_like_fake(x, x.shape)

    def setup(ctx, inputs, output):
        x, ctx.pool_size, ctx.strides, ctx.padding = inputs
        ctx.save_for_backward(x)

    def grads(k, ctx, dy):
        (x,) = ctx.saved_tensors
        return getattr(k, bname)(dy.contiguous(), x, ctx.pool_size, ctx.strides, ctx.padding), None, None, None

    _autograd(name, setup, grads)
    return fwd, bwd


max_pool2d, max_pool2d_backward = _pool_ops("max")
avg_pool2d, avg_pool2d_backward = _pool_ops("avg")


# ------------------------------------------------------------------------------------------- softmax
@custom_op("forgenet::softmax", mutates_args=())
def softmax(x: Tensor, axis: int) -> Tensor:
    dev = device_of("softmax", x)
    if dev.type == "cuda":
        # the CUDA kernel works on the last axis
        return cuda("softmax", dev)(x.movedim(axis, -1)).movedim(-1, axis).contiguous()
    return _cpu.softmax(x, axis)


@register_fake("forgenet::softmax")
def _(x, axis):
    return torch.empty_like(x, dtype=torch.float32, memory_format=torch.contiguous_format)


@custom_op("forgenet::softmax_backward", mutates_args=())
def softmax_backward(dy: Tensor, y: Tensor, axis: int) -> Tensor:
    dev = device_of("softmax_backward", dy, y)
    if dev.type == "cuda":
        dx = cuda("softmax_backward", dev)(dy.movedim(axis, -1), y.movedim(axis, -1))
        return dx.movedim(-1, axis).contiguous()
    return _cpu.softmax_backward(dy, y, axis)


@register_fake("forgenet::softmax_backward")
def _(dy, y, axis):
    return torch.empty_like(y, dtype=torch.float32, memory_format=torch.contiguous_format)


def _softmax_setup(ctx, inputs, output):
    ctx.axis = inputs[1]
    ctx.save_for_backward(output)


def _softmax_grads(k, ctx, dy):
    (y,) = ctx.saved_tensors
    return k.softmax_backward(dy.contiguous(), y, ctx.axis), None


_autograd("softmax", _softmax_setup, _softmax_grads)


@custom_op("forgenet::softmax_cross_entropy", mutates_args=())
def softmax_cross_entropy(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """(loss (N,), grad (N, C)): target int labels (N,) or float32 probabilities (N, C)."""
    dev = device_of("softmax_cross_entropy", logits, target)
    if dev.type == "cuda":
        return tuple(cuda("softmax_cross_entropy", dev)(logits, target))
    return _cpu.softmax_cross_entropy(logits, target)


@register_fake("forgenet::softmax_cross_entropy")
def _(logits, target):
    return _empty_like_fake(logits, logits.shape[:1]), _empty_like_fake(logits, logits.shape)


def _sce_setup(ctx, inputs, output):
    logits, target = inputs
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)  # see _no_zero_grads
    ctx.save_for_backward(logits, output[1])


def _sce_grads(k, ctx, dloss, _dgrad):
    if dloss is None:
        return None, None
    logits, grad = ctx.saved_tensors
    dlogits = dtarget = None
    if ctx.needs_input_grad[0]:
        dlogits = grad * dloss[:, None]
    if ctx.needs_input_grad[1]:  # soft targets: loss = -sum(t * log_softmax(logits))
        dtarget = -dloss[:, None] * torch.log_softmax(logits, dim=1)
    return dlogits, dtarget


_autograd("softmax_cross_entropy", _sce_setup, _sce_grads)


# ---------------------------------------------------------------------------------------------- lstm
@custom_op("forgenet::lstm", mutates_args=())
def lstm(x: Tensor, h0: Tensor, c0: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Tensor,
         training: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(y (N,T,U), h_T, c_T, reserve (N,T,5U), or (0,) when training is False)."""
    args = (x, h0, c0, kernel, recurrent_kernel, bias)
    dev = device_of("lstm", *args)
    if dev.type != "cuda":
        return _cpu.lstm(*args, training)
    out = tuple(cuda("lstm", dev)(*args, training))
    return out if training else out + (x.new_empty((0,)),)


@register_fake("forgenet::lstm")
def _(x, h0, c0, kernel, recurrent_kernel, bias, training):
    n, t, _ = x.shape
    u = recurrent_kernel.shape[0]
    reserve = (n, t, 5 * u) if training else (0,)
    return (_empty_like_fake(x, (n, t, u)), _empty_like_fake(x, (n, u)), _empty_like_fake(x, (n, u)),
            _empty_like_fake(x, reserve))


@custom_op("forgenet::lstm_backward", mutates_args=())
def lstm_backward(dy: Optional[Tensor], dh_T: Optional[Tensor], dc_T: Optional[Tensor], x: Tensor, h0: Tensor,
                  c0: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Tensor,
                  reserve: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    args = (dy, dh_T, dc_T, x, h0, c0, kernel, recurrent_kernel, bias, reserve)
    dev = device_of("lstm_backward", *args)
    if dev.type == "cuda":
        return tuple(cuda("lstm_backward", dev)(*args))
    return _cpu.lstm_backward(*args)


@register_fake("forgenet::lstm_backward")
def _(dy, dh_T, dc_T, x, h0, c0, kernel, recurrent_kernel, bias, reserve):
    return tuple(_empty_like_fake(x, t.shape) for t in (x, h0, c0, kernel, recurrent_kernel, bias))


def _lstm_setup(ctx, inputs, output):
    x, h0, c0, kernel, recurrent_kernel, bias, training = inputs
    ctx.training = training
    ctx.mark_non_differentiable(output[3])
    # see _no_zero_grads; lstm_backward reads a None dy / dh_T / dc_T as zeros, so an unused h_T or c_T
    # costs no (N, U) zeros either
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(x, h0, c0, kernel, recurrent_kernel, bias, output[3])


def _lstm_grads(k, ctx, dy, dh, dc, _dreserve):
    if not ctx.training:
        raise RuntimeError("forgenet.torch.lstm: backward needs the forward to run with training=True "
                           "(forgenet.torch.functional.lstm sets it whenever an input requires grad)")
    if dy is None and dh is None and dc is None:
        return (None,) * 7
    saved = ctx.saved_tensors
    grads = k.lstm_backward(None if dy is None else dy.contiguous(), None if dh is None else dh.contiguous(),
                               None if dc is None else dc.contiguous(), *saved)
    return tuple(g if need else None for g, need in zip(grads, ctx.needs_input_grad[:6])) + (None,)


_autograd("lstm", _lstm_setup, _lstm_grads)


# ----------------------------------------------------------------------------------------- embedding
@custom_op("forgenet::embedding", mutates_args=())
def embedding(ids: Tensor, embeddings: Tensor) -> Tensor:
    dev = device_of("embedding", ids, embeddings)
    if dev.type == "cuda":
        return cuda("embedding", dev)(ids.to(torch.int64), embeddings)
    return _cpu.embedding(ids, embeddings)


@register_fake("forgenet::embedding")
def _(ids, embeddings):
    return _empty_like_fake(embeddings, tuple(ids.shape) + (embeddings.shape[1],))


@custom_op("forgenet::embedding_backward", mutates_args=())
def embedding_backward(dy: Tensor, ids: Tensor, input_dim: int) -> Tensor:
    dev = device_of("embedding_backward", dy, ids)
    if dev.type == "cuda":
        return cuda("embedding_backward", dev)(dy, ids.to(torch.int64), input_dim)
    return _cpu.embedding_backward(dy, ids, input_dim)


@register_fake("forgenet::embedding_backward")
def _(dy, ids, input_dim):
    return _empty_like_fake(dy, (input_dim, dy.shape[-1]))


def _embedding_setup(ctx, inputs, output):
    ids, table = inputs
    ctx.input_dim = table.shape[0]
    ctx.save_for_backward(ids)


def _embedding_grads(k, ctx, dy):
    (ids,) = ctx.saved_tensors
    return None, k.embedding_backward(dy.contiguous(), ids, ctx.input_dim)


_autograd("embedding", _embedding_setup, _embedding_grads)


# ----------------------------------------------------------------------------------------- attention
@custom_op("forgenet::attention", mutates_args=())
def attention(q: Tensor, k: Tensor, v: Tensor, causal: bool, scale: Optional[float]) -> tuple[Tensor, Tensor]:
    """(o (B,H,Nq,dv), lse (B,H,Nq))."""
    dev = device_of("attention", q, k, v)
    if dev.type == "cuda":
        return tuple(cuda("attention", dev)(q, k, v, causal, scale))
    return _cpu.attention(q, k, v, causal, scale)


@register_fake("forgenet::attention")
def _(q, k, v, causal, scale):
    return _empty_like_fake(q, tuple(q.shape[:3]) + (v.shape[3],)), _empty_like_fake(q, q.shape[:3])


@custom_op("forgenet::attention_backward", mutates_args=())
def attention_backward(do: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, causal: bool,
                       scale: Optional[float]) -> tuple[Tensor, Tensor, Tensor]:
    dev = device_of("attention_backward", do, q, k, v, o, lse)
    if dev.type == "cuda":
        return tuple(cuda("attention_backward", dev)(do, q, k, v, o, lse, causal, scale))
    return _cpu.attention_backward(do, q, k, v, o, lse, causal, scale)


@register_fake("forgenet::attention_backward")
def _(do, q, k, v, o, lse, causal, scale):
    return _empty_like_fake(q, q.shape), _empty_like_fake(q, k.shape), _empty_like_fake(q, v.shape)


def _attention_setup(ctx, inputs, output):
    q, k, v, ctx.causal, ctx.scale = inputs
    o, lse = output
    ctx.mark_non_differentiable(lse)
    ctx.set_materialize_grads(False)  # see _no_zero_grads
    ctx.save_for_backward(q, k, v, o, lse)


def _attention_grads(ops, ctx, do, _dlse):
    if do is None:
        return (None,) * 5
    q, k, v, o, lse = ctx.saved_tensors
    dq, dk, dv = ops.attention_backward(do.contiguous(), q, k, v, o, lse, ctx.causal, ctx.scale)
    need = ctx.needs_input_grad
    return (dq if need[0] else None), (dk if need[1] else None), (dv if need[2] else None), None, None


_autograd("attention", _attention_setup, _attention_grads)


# ---------------------------------------------------------------------------------------- layer norm
@custom_op("forgenet::layer_norm", mutates_args=())
def layer_norm(x: Tensor, gamma: Optional[Tensor], beta: Optional[Tensor], epsilon: float) -> tuple[Tensor, Tensor, Tensor]:
    """(y, mean, rstd) over the last axis; mean and rstd have shape x.shape[:-1]."""
    dev = device_of("layer_norm", x, gamma, beta)
    if dev.type == "cuda":
        c = x.shape[-1]
        gamma = torch.ones(c, device=dev) if gamma is None else gamma
        beta = torch.zeros(c, device=dev) if beta is None else beta
        return tuple(cuda("layer_norm", dev)(x, gamma, beta, epsilon))
    return _cpu.layer_norm(x, gamma, beta, epsilon)


@register_fake("forgenet::layer_norm")
def _(x, gamma, beta, epsilon):
    return _empty_like_fake(x, x.shape), _empty_like_fake(x, x.shape[:-1]), _empty_like_fake(x, x.shape[:-1])


@custom_op("forgenet::layer_norm_backward", mutates_args=())
def layer_norm_backward(dy: Tensor, x: Tensor, gamma: Optional[Tensor], mean: Tensor,
                        rstd: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    dev = device_of("layer_norm_backward", dy, x, gamma, mean, rstd)
    if dev.type == "cuda":
        gamma = torch.ones(x.shape[-1], device=dev) if gamma is None else gamma
        return tuple(cuda("layer_norm_backward", dev)(dy, x, gamma, mean, rstd))
    return _cpu.layer_norm_backward(dy, x, gamma, mean, rstd)


@register_fake("forgenet::layer_norm_backward")
def _(dy, x, gamma, mean, rstd):
    c = (x.shape[-1],)
    return _empty_like_fake(x, x.shape), _empty_like_fake(x, c), _empty_like_fake(x, c)


def _ln_setup(ctx, inputs, output):
    x, gamma, beta, _eps = inputs
    _y, mean, rstd = output
    ctx.mark_non_differentiable(mean, rstd)
    ctx.set_materialize_grads(False)  # see _no_zero_grads
    ctx.has_gamma, ctx.has_beta = gamma is not None, beta is not None
    ctx.save_for_backward(x, gamma, mean, rstd)


def _ln_grads(k, ctx, dy, _dmean, _drstd):
    if dy is None:
        return (None,) * 4
    x, gamma, mean, rstd = ctx.saved_tensors
    dx, dgamma, dbeta = k.layer_norm_backward(dy.contiguous(), x, gamma, mean, rstd)
    need = ctx.needs_input_grad
    return ((dx if need[0] else None), (dgamma if need[1] and ctx.has_gamma else None),
            (dbeta if need[2] and ctx.has_beta else None), None)


_autograd("layer_norm", _ln_setup, _ln_grads)

FORWARD_OPS = ("gemm", "conv2d", "max_pool2d", "avg_pool2d", "softmax", "softmax_cross_entropy", "lstm",
               "embedding", "attention", "layer_norm")
BACKWARD_OPS = ("conv2d_backward", "max_pool2d_backward", "avg_pool2d_backward", "softmax_backward", "lstm_backward",
                "embedding_backward", "attention_backward", "layer_norm_backward")
# the forward ops whose autograd formula is itself differentiable (double backward works)
DIFFERENTIABLE_BACKWARD = ("gemm", "softmax_cross_entropy")

"""forgenet's CPU kernels as JAX functions: jit-able, differentiable (jax.custom_vjp), vmap-able.

    import forgenet.jax as fj
    o = fj.attention(q, k, v, causal=True)                    # (B, H, N, d), forgenet's layout
    o = fj.dot_product_attention(q, k, v, is_causal=True)     # (B, T, N, H), jax.nn's layout
    g = jax.grad(lambda w: fj.gemm(x, w).sum())(w)

How: every op (gemm, conv2d, max_pool2d, avg_pool2d, softmax, softmax_cross_entropy, lstm, embedding,
attention / dot_product_attention, layer_norm; forward and backward) runs as an XLA FFI custom call into
forgenet._C (the FFI route: csrc/bindings/xla_ffi.cpp, the kernels on XLA's own CPU buffers) where the
build found jaxlib's FFI headers; every op on a GPU or without the handlers runs through
jax.pure_callback on host numpy arrays (the callback path). route(op) says which route op takes on a CPU
('ffi' or 'callback'); FFI says whether the targets are registered (see forgenet.jax._ffi for when: the
build, the jaxlib version, FORGENET_JAX_FFI=0 in the environment). Either way XLA sees an opaque call
with declared result shapes, and the backward is another forgenet kernel behind jax.custom_vjp. vmap: an
FFI op stays one call over the mapped axes (vmap_method="expand_dims", the handler loops); a callback op
runs once per batch element (vmap_method="sequential"). gemm checks its shapes while tracing; the other
ops' kernels check theirs when they run, and their ValueError then comes wrapped in a JaxRuntimeError
carrying the kernel's message (on the FFI route: "INVALID_ARGUMENT: ValueError: conv2d: ...").
Layouts, dtypes and auxiliary outputs are those of forgenet.kernels: float32, NHWC images,
(KH, KW, Cin, Cout) kernels, LSTM gates i, f, c, o. Importing forgenet never imports JAX.
"""
from __future__ import annotations

from functools import partial

try:
    import jax
    import jax.numpy as jnp
except ImportError as e:  # pragma: no cover - exercised where jax is absent
    raise ImportError("forgenet.jax needs JAX: pip install jax") from e

import numpy as np

from forgenet import kernels
from forgenet._shapes import window_out
from forgenet.jax import _ffi

FFI = bool(_ffi.TARGETS)

_F32 = jnp.float32


def _sds(shape):
    return jax.ShapeDtypeStruct(tuple(int(s) for s in shape), _F32)


def _call(host, out, *args):
    """host(*numpy arrays) under jax.pure_callback, declared to return `out` (a ShapeDtypeStruct or tuple)."""
    def run(*arrays):
        res = host(*arrays)
        if isinstance(res, tuple):
            return tuple(np.asarray(a, dtype=np.float32) for a in res)
        return np.asarray(res, dtype=np.float32)
    return jax.pure_callback(run, out, *args, vmap_method="sequential")


def _pair(name, v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(t) for t in v)


def _check_f32(fn, **arrays):
    for name, a in arrays.items():
        if a is not None and jnp.result_type(a) != _F32:
            raise TypeError(f"forgenet.jax.{fn}: {name} must be float32, got {jnp.result_type(a)}")


# ---------------------------------------------------------------------------------------------- gemm
def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * c on 2-D float32 arrays (forgenet.kernels.gemm)."""
    _check_f32("gemm", a=a, b=b, c=c)
    if c is None and beta != 0.0:
        raise ValueError(f"forgenet.jax.gemm: c is required when beta != 0 (beta={beta})")
    if jnp.ndim(a) != 2 or jnp.ndim(b) != 2:
        raise ValueError(f"forgenet.jax.gemm: a and b must be 2-D, got shapes {jnp.shape(a)} and {jnp.shape(b)}")
    k, kb = a.shape[0 if trans_a else 1], b.shape[1 if trans_b else 0]
    if k != kb:
        raise ValueError(f"forgenet.jax.gemm: inner dimensions must match, got a {a.shape} (trans_a={trans_a}) "
                         f"and b {b.shape} (trans_b={trans_b})")
    return _gemm(a, b, c, bool(trans_a), bool(trans_b), float(alpha), float(beta))


def _gemm_raw(a, b, c, ta, tb, alpha, beta):
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    out = _sds((m, n))
    attrs = dict(trans_a=ta, trans_b=tb, alpha=np.float32(alpha), beta=np.float32(beta))
    if c is None:
        return _ffi.dispatch(lambda a, b: _ffi.call("forgenet_gemm", out, a, b, **attrs),
                             lambda a, b: _call(lambda a, b: kernels.gemm(a, b, trans_a=ta, trans_b=tb, alpha=alpha),
                                                out, a, b), a, b)
    return _ffi.dispatch(lambda a, b, c: _ffi.call("forgenet_gemm_c", out, a, b, c, **attrs),
                         lambda a, b, c: _call(lambda a, b, c: kernels.gemm(a, b, c, trans_a=ta, trans_b=tb,
                                                                            alpha=alpha, beta=beta), out, a, b, c),
                         a, b, c)


@partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5, 6))
def _gemm(a, b, c, ta, tb, alpha, beta):
    return _gemm_raw(a, b, c, ta, tb, alpha, beta)


def _gemm_fwd(a, b, c, ta, tb, alpha, beta):
    return _gemm_raw(a, b, c, ta, tb, alpha, beta), (a, b, c is not None)


def _gemm_bwd(ta, tb, alpha, beta, res, dy):
    a, b, has_c = res
    # the same identities as forgenet.torch's gemm: each gradient is one gemm on the stored layouts
    da = _gemm(b, dy, None, tb, True, alpha, 0.0) if ta else _gemm(dy, b, None, False, not tb, alpha, 0.0)
    db = _gemm(dy, a, None, True, ta, alpha, 0.0) if tb else _gemm(a, dy, None, not ta, False, alpha, 0.0)
    return da, db, (dy * beta if has_c else None)


_gemm.defvjp(_gemm_fwd, _gemm_bwd)


# -------------------------------------------------------------------------------------------- conv2d
def conv2d(x, kernel, bias=None, *, strides=1, padding="valid"):
    """x (N,H,W,Cin) cross-correlated with kernel (KH,KW,Cin,Cout) plus bias (Cout,) -> (N,Ho,Wo,Cout)."""
    _check_f32("conv2d", x=x, kernel=kernel, bias=bias)
    return _conv(x, kernel, bias, _pair("strides", strides), str(padding).lower())


def _window_attrs(strides, padding):
    return dict(stride_h=np.int64(strides[0]), stride_w=np.int64(strides[1]), same=padding == "same")


def _conv_raw(x, kernel, bias, strides, padding):
    n, ho, wo = window_out("forgenet.jax.conv2d", x.shape, kernel.shape[:2], strides, padding)
    out = _sds((n, ho, wo, kernel.shape[3]))
    attrs = _window_attrs(strides, padding)
    if bias is None:
        return _ffi.dispatch(lambda x, k: _ffi.call("forgenet_conv2d", out, x, k, **attrs),
                             lambda x, k: _call(lambda x, k: kernels.conv2d(x, k, None, strides=strides,
                                                                            padding=padding), out, x, k),
                             x, kernel)
    return _ffi.dispatch(lambda x, k, b: _ffi.call("forgenet_conv2d_bias", out, x, k, b, **attrs),
                         lambda x, k, b: _call(lambda x, k, b: kernels.conv2d(x, k, b, strides=strides,
                                                                              padding=padding), out, x, k, b),
                         x, kernel, bias)


@partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _conv(x, kernel, bias, strides, padding):
    return _conv_raw(x, kernel, bias, strides, padding)


def _conv_fwd(x, kernel, bias, strides, padding):
    return _conv_raw(x, kernel, bias, strides, padding), (x, kernel, bias is not None)


def _conv_bwd(strides, padding, res, dy):
    x, kernel, has_bias = res
    out = (_sds(x.shape), _sds(kernel.shape), _sds((kernel.shape[3],)))
    dx, dk, db = _ffi.dispatch(
        lambda dy, x, k: _ffi.call("forgenet_conv2d_backward", out, dy, x, k, **_window_attrs(strides, padding)),
        lambda dy, x, k: _call(lambda dy, x, k: kernels.conv2d_backward(dy, x, k, strides=strides, padding=padding),
                               out, dy, x, k),
        dy, x, kernel)
    return dx, dk, (db if has_bias else None)


_conv.defvjp(_conv_fwd, _conv_bwd)


# ------------------------------------------------------------------------------------------- pooling
def _pool_fn(kind):
    fwd_k, bwd_k = getattr(kernels, f"{kind}_pool2d"), getattr(kernels, f"{kind}_pool2d_backward")

    def attrs(size, step, padding):
        return dict(pool_h=np.int64(size[0]), pool_w=np.int64(size[1]), **_window_attrs(step, padding))

    def raw(x, size, step, padding):
        n, ho, wo = window_out(f"forgenet.jax.{kind}_pool2d", x.shape, size, step, padding)
        out = _sds((n, ho, wo, x.shape[3]))
        return _ffi.dispatch(lambda x: _ffi.call(f"forgenet_{kind}_pool2d", out, x, **attrs(size, step, padding)),
                             lambda x: _call(lambda x: fwd_k(x, size, step, padding), out, x), x)

    def bwd(size, step, padding, x, dy):
        out = _sds(x.shape)
        return (_ffi.dispatch(
            lambda dy, x: _ffi.call(f"forgenet_{kind}_pool2d_backward", out, dy, x, **attrs(size, step, padding)),
            lambda dy, x: _call(lambda dy, x: bwd_k(dy, x, size, step, padding), out, dy, x), dy, x),)

    f = jax.custom_vjp(raw, nondiff_argnums=(1, 2, 3))
    f.defvjp(lambda x, size, step, padding: (raw(x, size, step, padding), x), bwd)

    def pool(x, pool_size=2, strides=None, padding="valid"):
        _check_f32(f"{kind}_pool2d", x=x)
        size = _pair("pool_size", pool_size)
        return f(x, size, size if strides is None else _pair("strides", strides), str(padding).lower())

    pool.__name__ = f"{kind}_pool2d"
    pool.__doc__ = f"forgenet.kernels.{kind}_pool2d on an NHWC array (N,H,W,C) -> (N,Ho,Wo,C); strides default to pool_size."
    return pool


max_pool2d = _pool_fn("max")
avg_pool2d = _pool_fn("avg")


# ------------------------------------------------------------------------------------------- softmax
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis (forgenet.kernels.softmax)."""
    _check_f32("softmax", x=x)
    return _softmax(x, int(axis))


def _last(f, x, axis):
    """f on x with `axis` moved last (the FFI kernels' own axis), the result's moved back."""
    axis = axis % x.ndim
    if axis == x.ndim - 1:
        return f(x)
    return jnp.moveaxis(f(jnp.moveaxis(x, axis, -1)), -1, axis)


def _softmax_raw(x, axis):
    out = _sds(x.shape)
    if x.ndim == 0:  # the kernel's contract refuses a scalar, in its words
        return _call(lambda x: kernels.softmax(x, axis), out, x)
    return _ffi.dispatch(
        lambda x: _last(lambda x: _ffi.call("forgenet_softmax", _sds(x.shape), x, rank=np.int64(x.ndim)), x, axis),
        lambda x: _call(lambda x: kernels.softmax(x, axis), out, x), x)


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def _softmax(x, axis):
    return _softmax_raw(x, axis)


def _softmax_fwd(x, axis):
    y = _softmax(x, axis)
    return y, y


def _softmax_bwd(axis, y, dy):
    out = _sds(y.shape)

    def ffi(dy, y):
        a = axis % y.ndim
        dyl, yl = jnp.moveaxis(dy, a, -1), jnp.moveaxis(y, a, -1)
        dx = _ffi.call("forgenet_softmax_backward", _sds(yl.shape), dyl, yl, rank=np.int64(y.ndim))
        return jnp.moveaxis(dx, -1, a)

    return (_ffi.dispatch(ffi, lambda dy, y: _call(lambda dy, y: kernels.softmax_backward(dy, y, axis), out, dy, y),
                          dy, y),)


_softmax.defvjp(_softmax_fwd, _softmax_bwd)


def softmax_cross_entropy(logits, labels):
    """Per-sample cross-entropy (N,) of softmax(logits (N, C)) against integer labels (N,), differentiable
    in logits (soft targets: use forgenet.kernels directly or jax.nn)."""
    _check_f32("softmax_cross_entropy", logits=logits)
    if not jnp.issubdtype(jnp.result_type(labels), jnp.integer):
        raise TypeError(f"forgenet.jax.softmax_cross_entropy: labels must be integers, got {jnp.result_type(labels)}")
    return _sce(logits, labels)


def _sce_both(logits, labels):
    n = logits.shape[0]
    out = (_sds((n,)), _sds(logits.shape))
    # one call gives both: the gradient (softmax - onehot) is the forward's second output
    return tuple(_ffi.dispatch(lambda x, t: tuple(_ffi.call("forgenet_softmax_cross_entropy", out, x, t)),
                               lambda x, t: _call(lambda x, t: kernels.softmax_cross_entropy(x, t), out, x, t),
                               logits, labels))


@jax.custom_vjp
def _sce(logits, labels):
    return _sce_both(logits, labels)[0]


def _sce_fwd(logits, labels):
    loss, grad = _sce_both(logits, labels)
    return loss, (grad, labels)


def _sce_bwd(res, dloss):
    grad, labels = res
    return grad * dloss[:, None], np.zeros(labels.shape, dtype=jax.dtypes.float0)


_sce.defvjp(_sce_fwd, _sce_bwd)


# ---------------------------------------------------------------------------------------------- lstm
def lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    """x (N,T,D), h0/c0 (N,U), kernel (D,4U), recurrent_kernel (U,4U), bias (4U,), gates i,f,c,o
    -> (y (N,T,U), h_T, c_T)."""
    _check_f32("lstm", x=x, h0=h0, c0=c0, kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias)
    return _lstm(x, h0, c0, kernel, recurrent_kernel, bias)


def _lstm_raw(args, training):
    n, t, _ = args[0].shape
    u = args[4].shape[0]
    out = (_sds((n, t, u)), _sds((n, u)), _sds((n, u)), _sds((n, t, 5 * u)))
    # the FFI handler always writes the reserve (the kernel needs one); only a gradient keeps it
    kept = 3 + training
    return tuple(_ffi.dispatch(lambda *a: tuple(_ffi.call("forgenet_lstm", out, *a))[:kept],
                               lambda *a: _call(lambda *a: kernels.lstm(*a, training=training), out[:kept], *a),
                               *args))


@jax.custom_vjp
def _lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    return _lstm_raw((x, h0, c0, kernel, recurrent_kernel, bias), False)


def _lstm_fwd(*args):
    y, h, c, reserve = _lstm_raw(args, True)
    return (y, h, c), args + (reserve,)


def _lstm_bwd(res, grads):
    dy, dh, dc = grads
    out = tuple(_sds(a.shape) for a in res[:6])
    return tuple(_ffi.dispatch(lambda *a: tuple(_ffi.call("forgenet_lstm_backward", out, *a)),
                               lambda *a: _call(lambda *a: kernels.lstm_backward(*a), out, *a), dy, dh, dc, *res))


_lstm.defvjp(_lstm_fwd, _lstm_bwd)


# ----------------------------------------------------------------------------------------- embedding
def embedding(ids, embeddings):
    """embeddings (input_dim, output_dim)[ids] for integer ids of any shape."""
    _check_f32("embedding", embeddings=embeddings)
    if not jnp.issubdtype(jnp.result_type(ids), jnp.integer):
        raise TypeError(f"forgenet.jax.embedding: ids must be integers, got {jnp.result_type(ids)}")
    return _embedding(ids, embeddings)


def _embedding_raw(ids, table):
    out = _sds(tuple(ids.shape) + (table.shape[1],))
    return _ffi.dispatch(lambda i, e: _ffi.call("forgenet_embedding", out, i, e, rank=np.int64(ids.ndim)),
                         lambda i, e: _call(lambda i, e: kernels.embedding(i, e), out, i, e), ids, table)


@jax.custom_vjp
def _embedding(ids, table):
    return _embedding_raw(ids, table)


def _embedding_fwd(ids, table):
    return _embedding(ids, table), (ids, table.shape[0])


def _embedding_bwd(res, dy):
    ids, input_dim = res
    out = _sds((input_dim, dy.shape[-1]))
    dtable = _ffi.dispatch(
        lambda dy, i: _ffi.call("forgenet_embedding_backward", out, dy, i, input_dim=np.int64(input_dim)),
        lambda dy, i: _call(lambda dy, i: kernels.embedding_backward(dy, i, input_dim), out, dy, i), dy, ids)
    return np.zeros(ids.shape, dtype=jax.dtypes.float0), dtable


_embedding.defvjp(_embedding_fwd, _embedding_bwd)


# ----------------------------------------------------------------------------------------- attention
def attention(q, k, v, *, causal=False, scale=None):
    """softmax(scale q k^T [causal]) v: q (B,H,Nq,d), k (B,H,Nk,d), v (B,H,Nk,dv) -> (B,H,Nq,dv)."""
    _check_f32("attention", q=q, k=k, v=v)
    return _attention(q, k, v, bool(causal), None if scale is None else float(scale))


def _attention_attrs(causal, scale):
    return dict(causal=causal, has_scale=scale is not None, scale=np.float64(0.0 if scale is None else scale))


def _attention_raw(q, k, v, causal, scale):
    out = (_sds(tuple(q.shape[:3]) + (v.shape[3],)), _sds(q.shape[:3]))
    return tuple(_ffi.dispatch(
        lambda q, k, v: tuple(_ffi.call("forgenet_attention", out, q, k, v, **_attention_attrs(causal, scale))),
        lambda q, k, v: _call(lambda q, k, v: kernels.attention(q, k, v, causal=causal, scale=scale, return_lse=True),
                              out, q, k, v),
        q, k, v))


@partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _attention(q, k, v, causal, scale):
    return _attention_raw(q, k, v, causal, scale)[0]


def _attention_fwd(q, k, v, causal, scale):
    o, lse = _attention_raw(q, k, v, causal, scale)
    return o, (q, k, v, o, lse)


def _attention_bwd(causal, scale, res, do):
    q, k, v, o, lse = res
    out = (_sds(q.shape), _sds(k.shape), _sds(v.shape))
    return tuple(_ffi.dispatch(
        lambda *a: tuple(_ffi.call("forgenet_attention_backward", out, *a, **_attention_attrs(causal, scale))),
        lambda *a: _call(lambda *a: kernels.attention_backward(*a, causal=causal, scale=scale), out, *a),
        do, q, k, v, o, lse))


_attention.defvjp(_attention_fwd, _attention_bwd)


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None, is_causal=False,
                          query_seq_lengths=None, key_value_seq_lengths=None, local_window_size=None,
                          implementation=None):
    """jax.nn.dot_product_attention's signature and (B, T, N, H) layout on forgenet's fused attention.

    bias, mask, sequence lengths, local windows and grouped key/value heads are not supported
    (NotImplementedError); implementation must be None.
    """
    fn = "forgenet.jax.dot_product_attention"
    for name, val in (("bias", bias), ("mask", mask), ("query_seq_lengths", query_seq_lengths),
                      ("key_value_seq_lengths", key_value_seq_lengths), ("local_window_size", local_window_size),
                      ("implementation", implementation)):
        if val is not None:
            raise NotImplementedError(f"{fn}: {name} is not supported (only None)")
    unbatched = query.ndim == 3
    q, k, v = (t[None] if unbatched else t for t in (query, key, value))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"{fn}: query, key and value must be (B, T, N, H) or (T, N, H), got "
                         f"{query.shape}, {key.shape}, {value.shape}")
    if k.shape[2] != q.shape[2]:
        raise NotImplementedError(f"{fn}: grouped key/value heads ({k.shape[2]} vs {q.shape[2]}) are not supported")
    bnth = lambda t: jnp.swapaxes(t, 1, 2)  # noqa: E731
    o = jnp.swapaxes(attention(bnth(q), bnth(k), bnth(v), causal=is_causal, scale=scale), 1, 2)
    return o[0] if unbatched else o


# ---------------------------------------------------------------------------------------- layer norm
def layer_norm(x, gamma, beta, *, epsilon=1e-3):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis; gamma, beta (C,)."""
    _check_f32("layer_norm", x=x, gamma=gamma, beta=beta)
    return _layer_norm(x, gamma, beta, float(epsilon))


def _ln_raw(x, gamma, beta, eps):
    out = (_sds(x.shape), _sds(x.shape[:-1]), _sds(x.shape[:-1]))
    return tuple(_ffi.dispatch(
        lambda *a: tuple(_ffi.call("forgenet_layer_norm", out, *a, rank=np.int64(x.ndim), epsilon=np.float64(eps))),
        lambda *a: _call(lambda x, g, b: kernels.layer_norm(x, g, b, epsilon=eps), out, *a), x, gamma, beta))


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _layer_norm(x, gamma, beta, eps):
    return _ln_raw(x, gamma, beta, eps)[0]


def _ln_fwd(x, gamma, beta, eps):
    y, mean, rstd = _ln_raw(x, gamma, beta, eps)
    return y, (x, gamma, mean, rstd)


def _ln_bwd(eps, res, dy):
    x, gamma, mean, rstd = res
    c = (x.shape[-1],)
    out = (_sds(x.shape), _sds(c), _sds(c))
    return tuple(_ffi.dispatch(
        lambda *a: tuple(_ffi.call("forgenet_layer_norm_backward", out, *a, rank=np.int64(x.ndim))),
        lambda *a: _call(lambda *a: kernels.layer_norm_backward(*a), out, *a), dy, x, gamma, mean, rstd))


_layer_norm.defvjp(_ln_fwd, _ln_bwd)

def route(op):
    """How op runs on arrays on a CPU: 'ffi' (an XLA FFI call into forgenet._C) or 'callback'
    (jax.pure_callback on host numpy arrays). Arrays on other devices always take the callback."""
    if op not in __all__ or op == "route":
        raise ValueError(f"forgenet.jax.route: op must be one of {sorted(set(__all__) - {'route'})}, got {op!r}")
    return "ffi" if op in _ffi.FFI_OPS and _ffi.active() else "callback"


__all__ = ["route", "gemm", "conv2d", "max_pool2d", "avg_pool2d", "softmax", "softmax_cross_entropy", "lstm", "embedding",
           "attention", "dot_product_attention", "layer_norm"]

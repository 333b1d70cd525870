"""forgenet.jax's XLA FFI route: each op lowers to its forgenet custom call, gives the callback route's
values and gradients (the same kernels) and a float64 torch reference's, under jit, grad and vmap, and
refuses bad input with the contract's message."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import forgenet.jax as fj  # noqa: E402
from forgenet import _build_info  # noqa: E402
from forgenet.jax import _ffi  # noqa: E402
from support import assert_close  # noqa: E402

needs_ffi = pytest.mark.skipif(not fj.FFI, reason=f"no FFI route: {_ffi.WHY_OFF}")
F64 = dict(rtol=2e-4, atol=2e-5)


def r(*shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed + 7 * sum(shape)).standard_normal(shape).astype(np.float32))


def t64(*arrays):
    return [torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True) for a in arrays]


def test_built_handlers_are_registered():
    """A build that found jaxlib's headers must give the FFI route (not quietly the callback)."""
    import os
    if os.environ.get("FORGENET_JAX_FFI", "").strip() == "0":
        pytest.skip("FORGENET_JAX_FFI=0")
    if "this process runs the older" in _ffi.WHY_OFF:  # pip's build env got a newer jaxlib than the test env's
        pytest.skip(_ffi.WHY_OFF)
    assert fj.FFI == _build_info.HAS_XLA_FFI, _ffi.WHY_OFF
    for op in ("gemm", "conv2d", "attention", "dot_product_attention", "lstm", "softmax", "layer_norm",
               "max_pool2d", "avg_pool2d", "embedding", "softmax_cross_entropy"):
        assert fj.route(op) == ("ffi" if fj.FFI else "callback")
    with pytest.raises(ValueError, match="forgenet.jax.route: op must be one of"):
        fj.route("matmul")


def _lowered(f, args):
    return jax.jit(f).lower(*args).as_text()


def _both_routes(f, args, argnums):
    """(value, gradients of a random projection) on the FFI route and on the callback route, under jit."""
    def run():
        y = jax.jit(lambda *a: f(*a))(*args)
        w = r(*y.shape, seed=5)
        g = jax.jit(jax.grad(lambda *a: (f(*a) * w).sum(), argnums=argnums))(*args)
        return np.asarray(y), [np.asarray(t) for t in g], np.asarray(w)
    ffi = run()
    with _ffi.forced_callback():
        cb = run()
    return ffi, cb


def _check(f, ref, args, target, argnums=None, tol=F64):
    """f on both routes against each other (the same kernels: to rounding) and against ref on float64 torch
    tensors (values and autograd gradients); f must lower to `target` and no callback."""
    argnums = tuple(range(len(args))) if argnums is None else argnums
    text = _lowered(f, args)
    assert f"custom_call @{target}(" in text and "callback" not in text
    with _ffi.forced_callback():
        assert "callback" in _lowered(lambda *a: f(*a), args)
    (y, g, w), (yc, gc, _) = _both_routes(f, args, argnums)
    np.testing.assert_allclose(y, yc, rtol=1e-6, atol=1e-6)
    for a, b in zip(g, gc):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    ts = t64(*args)
    yt = ref(*ts)
    assert_close(y, yt.detach().numpy(), **tol, what="value")
    (yt * torch.tensor(w, dtype=torch.float64)).sum().backward()
    for i, a in zip(argnums, g):
        assert_close(a, ts[i].grad.numpy(), rtol=tol["rtol"] * 10, atol=tol["atol"] * 10, what=f"grad {i}")


def _op(a, t):
    return a.T if t else a


@needs_ffi
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm(ta, tb):
    a, b, c = r(5, 3) if ta else r(3, 5), r(4, 5) if tb else r(5, 4), r(3, 4)
    _check(lambda a, b, c: fj.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0),
           lambda a, b, c: 0.5 * _op(a, ta) @ _op(b, tb) + 2.0 * c, (a, b, c), "forgenet_gemm_c")
    _check(lambda a, b: fj.gemm(a, b, trans_a=ta, trans_b=tb, alpha=-1.5),
           lambda a, b: -1.5 * _op(a, ta) @ _op(b, tb), (a, b), "forgenet_gemm")


def _tf_pad(size, k, s):
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _conv_ref(strides, padding):
    def ref(x, k, b):
        xc = x.permute(0, 3, 1, 2)
        if padding == "same":  # TensorFlow's rule, as forgenet's: the odd pixel goes after
            (t, bo), (lf, rt) = _tf_pad(x.shape[1], k.shape[0], strides[0]), _tf_pad(x.shape[2], k.shape[1], strides[1])
            xc = torch.nn.functional.pad(xc, (lf, rt, t, bo))
        y = torch.nn.functional.conv2d(xc, k.permute(3, 2, 0, 1), b, stride=strides)
        return y.permute(0, 2, 3, 1)
    return ref


@needs_ffi
@pytest.mark.parametrize("padding,strides", [("valid", (1, 1)), ("same", (1, 1)), ("same", (2, 2)), ("valid", (2, 1))])
def test_conv2d(padding, strides):
    x, k, b = r(2, 7, 6, 3), r(3, 2, 3, 4), r(4)
    _check(lambda x, k, b: fj.conv2d(x, k, b, strides=strides, padding=padding), _conv_ref(strides, padding),
           (x, k, b), "forgenet_conv2d_bias")
    _check(lambda x, k: fj.conv2d(x, k, strides=strides, padding=padding),
           lambda x, k: _conv_ref(strides, padding)(x, k, None), (x, k), "forgenet_conv2d")


@needs_ffi
def test_conv2d_backward_targets_and_weights_only():
    """Both backward targets (with dx, and the need_dx=False one) against forgenet.kernels' backward."""
    from forgenet import kernels
    x, k = r(2, 6, 5, 3), r(3, 3, 3, 4)
    dy = r(2, 3, 3, 4)
    attrs = dict(stride_h=np.int64(2), stride_w=np.int64(2), same=True)
    out3 = (jax.ShapeDtypeStruct(x.shape, jnp.float32), jax.ShapeDtypeStruct(k.shape, jnp.float32),
            jax.ShapeDtypeStruct((4,), jnp.float32))
    full = _ffi.call("forgenet_conv2d_backward", out3, dy, x, k, **attrs)
    weights = _ffi.call("forgenet_conv2d_backward_weights", out3[1:], dy, x, k, **attrs)
    want = kernels.conv2d_backward(np.asarray(dy), np.asarray(x), np.asarray(k), strides=2, padding="same")
    for got, w in zip(full, want):
        np.testing.assert_allclose(got, w, rtol=1e-6, atol=1e-6)
    for got, w in zip(weights, want[1:]):
        np.testing.assert_allclose(got, w, rtol=1e-6, atol=1e-6)


def _attn_ref(causal, scale):
    return lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)


@needs_ffi
@pytest.mark.parametrize("causal,scale", [(False, None), (True, None), (False, 0.3)])
def test_attention(causal, scale):
    q, k, v = r(2, 3, 6, 8), r(2, 3, 6, 8), r(2, 3, 6, 5)
    _check(lambda q, k, v: fj.attention(q, k, v, causal=causal, scale=scale), _attn_ref(causal, scale), (q, k, v),
           "forgenet_attention")


@needs_ffi
def test_dot_product_attention_layout():
    q, k, v = r(2, 6, 3, 8), r(2, 6, 3, 8), r(2, 6, 3, 8)  # (B, T, N, H)
    bnth = lambda t: t.transpose(1, 2)  # noqa: E731
    _check(lambda q, k, v: fj.dot_product_attention(q, k, v, is_causal=True),
           lambda q, k, v: bnth(_attn_ref(True, None)(bnth(q), bnth(k), bnth(v))), (q, k, v), "forgenet_attention")


def _lstm_ref(x, h, c, kernel, rk, bias):
    ys = []
    for t in range(x.shape[1]):
        i, f, g, o = torch.split(x[:, t] @ kernel + h @ rk + bias, rk.shape[0], dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        ys.append(h)
    return torch.stack(ys, 1), h, c


@needs_ffi
def test_lstm():
    args = (r(2, 4, 3), r(2, 5), r(2, 5), r(3, 20), r(5, 20), r(20))
    for pick in range(3):
        _check(lambda *a: fj.lstm(*a)[pick], lambda *a: _lstm_ref(*a)[pick], args, "forgenet_lstm")


@needs_ffi
@pytest.mark.parametrize("shape,axis", [((4, 7), -1), ((2, 3, 5), 1), ((6,), 0), ((2, 3, 4), 0)])
def test_softmax(shape, axis):
    _check(lambda x: fj.softmax(x, axis=axis), lambda x: torch.softmax(x, dim=axis), (r(*shape),), "forgenet_softmax")


@needs_ffi
def test_softmax_backward_target():
    text = _lowered(jax.grad(lambda x: (fj.softmax(x, axis=0) * r(3, 4, seed=2)).sum()), (r(3, 4),))
    assert "custom_call @forgenet_softmax_backward(" in text and "callback" not in text


@needs_ffi
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5), (7,)])
def test_layer_norm(shape):
    c = shape[-1]
    _check(lambda x, g, b: fj.layer_norm(x, g, b, epsilon=1e-3),
           lambda x, g, b: torch.nn.functional.layer_norm(x, (c,), g, b, eps=1e-3), (r(*shape), r(c), r(c, seed=1)),
           "forgenet_layer_norm")
    text = _lowered(jax.grad(lambda x, g, b: fj.layer_norm(x, g, b).sum(), argnums=(0, 1, 2)), (r(*shape), r(c), r(c)))
    assert "custom_call @forgenet_layer_norm_backward(" in text and "callback" not in text


@needs_ffi
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size,strides", [((2, 2), None), ((3, 2), (2, 1)), ((3, 3), (1, 1))])
def test_pool_valid(kind, size, strides):
    pool = getattr(torch.nn.functional, f"{kind}_pool2d")
    ref = lambda x: pool(x.permute(0, 3, 1, 2), size, strides or size).permute(0, 2, 3, 1)  # noqa: E731
    _check(lambda x: getattr(fj, f"{kind}_pool2d")(x, size, strides), ref, (r(2, 7, 6, 3),), f"forgenet_{kind}_pool2d")


@needs_ffi
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_same_and_backward_target(kind):
    """padding='same' (no torch twin): the two routes agree, and the gradient is the backward target."""
    f = lambda x: getattr(fj, f"{kind}_pool2d")(x, 3, 2, padding="same")  # noqa: E731
    x = r(2, 7, 6, 3)
    text = _lowered(jax.grad(lambda x: (f(x) ** 2).sum()), (x,))
    assert f"custom_call @forgenet_{kind}_pool2d_backward(" in text and "callback" not in text
    (y, g, _), (yc, gc, _) = _both_routes(f, (x,), (0,))
    np.testing.assert_allclose(y, yc, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g[0], gc[0], rtol=1e-6, atol=1e-6)


@needs_ffi
@pytest.mark.parametrize("ids_shape", [(5,), (2, 3), ()])
def test_embedding(ids_shape):
    """JAX's int32 ids (x64 off) are widened to the kernel's int64 by the handler; repeated ids accumulate."""
    ids = jnp.asarray(np.random.default_rng(1).integers(0, 4, ids_shape), dtype=jnp.int32)
    table = r(4, 3)
    f = lambda t: fj.embedding(ids, t)  # noqa: E731
    _check(f, lambda t: t[torch.as_tensor(np.array(ids), dtype=torch.long)], (table,), "forgenet_embedding")
    text = _lowered(jax.grad(lambda t: (f(t) ** 2).sum()), (table,))
    assert "custom_call @forgenet_embedding_backward(" in text and "callback" not in text


@needs_ffi
def test_softmax_cross_entropy():
    labels = jnp.array([2, 0, 4, 4, 1], dtype=jnp.int32)
    ref = lambda x: torch.nn.functional.cross_entropy(x, torch.as_tensor(np.array(labels), dtype=torch.long),  # noqa: E731
                                                      reduction="none")
    _check(lambda x: fj.softmax_cross_entropy(x, labels), ref, (r(5, 5),), "forgenet_softmax_cross_entropy")


@needs_ffi
def test_check_grads_finite_differences():
    """jax.test_util.check_grads: the custom VJPs on the FFI route against JAX's own finite differences."""
    opts = dict(order=1, modes=("rev",), atol=2e-2, rtol=2e-2, eps=1e-2)
    check_grads(lambda a, b, c: fj.gemm(a, b, c, trans_b=True, beta=0.5), (r(3, 4), r(5, 4), r(3, 5)), **opts)
    check_grads(lambda x, k, b: fj.conv2d(x, k, b, strides=2, padding="same"), (r(1, 5, 5, 2), r(3, 3, 2, 3), r(3)),
                **opts)
    check_grads(lambda q, k, v: fj.attention(q, k, v, causal=True), (r(1, 2, 4, 3), r(1, 2, 4, 3), r(1, 2, 4, 2)),
                **opts)
    check_grads(lambda *a: fj.lstm(*a)[0], (r(1, 3, 2), r(1, 2), r(1, 2), r(2, 8), r(2, 8), r(8)), **opts)
    check_grads(lambda x: fj.softmax(x, axis=1), (r(2, 5, 3),), **opts)
    check_grads(lambda x: fj.softmax_cross_entropy(x, jnp.array([1, 0, 2])), (r(3, 4),), **opts)
    check_grads(lambda t: fj.embedding(jnp.array([[0, 2], [2, 1]]), t), (r(3, 4),), **opts)
    check_grads(lambda x: fj.avg_pool2d(x, 2, 1, padding="same"), (r(1, 4, 5, 2),), **opts)
    check_grads(lambda x: fj.max_pool2d(x, 2), (r(1, 4, 4, 2),), **opts)  # distinct values: no ties
    check_grads(lambda x, g, b: fj.layer_norm(x, g, b), (r(3, 5), r(5), r(5, seed=1)), **opts)


def _vmap_both(f, in_axes, args):
    ffi = jax.jit(jax.vmap(f, in_axes=in_axes))(*args)
    text = _lowered(jax.vmap(f, in_axes=in_axes), args)
    assert "custom_call @forgenet_" in text and "callback" not in text and "while" not in text
    with _ffi.forced_callback():
        cb = jax.jit(jax.vmap(lambda *a: f(*a), in_axes=in_axes))(*args)
    for a, b in zip(jax.tree.leaves(ffi), jax.tree.leaves(cb)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@needs_ffi
def test_vmap_each_op_one_call():
    """vmap_method='expand_dims': one custom call over the mapped axes, an unmapped operand read for every
    index; equal to the callback route's per-element calls."""
    a, b = r(3, 2, 4), r(4, 5)
    _vmap_both(lambda a, b: fj.gemm(a, b), (0, None), (a, b))
    _vmap_both(lambda a, b: fj.gemm(a, b, trans_b=True), (None, 1), (r(2, 4), r(5, 3, 4)))
    _vmap_both(lambda a, b, c: fj.gemm(a, b, c, beta=1.0), (0, 0, None), (a, r(3, 4, 5), r(2, 5)))
    _vmap_both(lambda x, k, b: fj.conv2d(x, k, b, padding="same"), (0, None, None), (r(3, 1, 5, 5, 2), r(3, 3, 2, 4), r(4)))
    _vmap_both(lambda x, k: fj.conv2d(x, k), (None, 0), (r(2, 5, 5, 2), r(3, 3, 3, 2, 4)))
    _vmap_both(lambda q, k, v: fj.attention(q, k, v, causal=True), (0, 0, None), (r(2, 1, 2, 4, 3), r(2, 1, 2, 4, 3), r(1, 2, 4, 3)))
    _vmap_both(lambda x, *w: fj.lstm(x, *w), (0, None, None, None, None, None),
               (r(2, 2, 3, 3), r(2, 5), r(2, 5), r(3, 20), r(5, 20), r(20)))
    _vmap_both(lambda x: fj.softmax(x, axis=0), (1,), (r(4, 3, 5),))
    _vmap_both(lambda x: fj.max_pool2d(x, 2), (0,), (r(3, 2, 4, 4, 2),))
    ids = jnp.array([[0, 1, 1], [3, 2, 0]])
    _vmap_both(lambda i, t: fj.embedding(i, t), (0, None), (ids, r(4, 5)))
    _vmap_both(lambda i, t: fj.embedding(i, t), (None, 0), (ids[0], r(2, 4, 5)))
    _vmap_both(lambda x: fj.avg_pool2d(x, 3, 2, padding="same"), (4,), (r(1, 5, 5, 2, 3),))
    _vmap_both(lambda x, g, b: fj.layer_norm(x, g, b), (0, None, None), (r(3, 2, 5), r(5), r(5, seed=1)))
    _vmap_both(lambda x, g, b: fj.layer_norm(x, g, b), (None, 0, 0), (r(2, 5), r(3, 5), r(3, 5, seed=1)))


@needs_ffi
def test_vmap_of_grad_and_nested_vmap():
    w = r(4, 5)
    per_example = jax.grad(lambda a, w: (fj.gemm(a, w) ** 2).sum(), argnums=1)
    _vmap_both(per_example, (0, None), (r(3, 2, 4), w))  # per-example weight gradients
    conv_grad = jax.grad(lambda x, k: (fj.conv2d(x, k, padding="same") ** 2).sum(), argnums=(0, 1))
    _vmap_both(conv_grad, (0, None), (r(2, 1, 4, 4, 2), r(3, 3, 2, 3)))
    attn_grad = jax.grad(lambda q, k, v: fj.attention(q, k, v).sum(), argnums=(0, 1, 2))
    _vmap_both(attn_grad, (0, 0, 0), (r(2, 1, 1, 3, 4), r(2, 1, 1, 3, 4), r(2, 1, 1, 3, 4)))
    pool_grad = jax.grad(lambda x: (fj.max_pool2d(x, 2) ** 2).sum())
    _vmap_both(pool_grad, (0,), (r(3, 1, 4, 4, 2),))
    _vmap_both(lambda x, t: fj.softmax_cross_entropy(x, t), (0, None), (r(3, 4, 5), jnp.array([0, 4, 1, 1])))
    _vmap_both(lambda x, t: fj.softmax_cross_entropy(x, t), (None, 0), (r(4, 5), jnp.array([[0, 4, 1, 1], [2, 2, 3, 0]])))
    sce_grad = jax.grad(lambda x, t: fj.softmax_cross_entropy(x, t).mean())
    _vmap_both(sce_grad, (0, 0), (r(2, 3, 5), jnp.array([[0, 4, 1], [2, 2, 3]])))
    emb_grad = jax.grad(lambda t, i: (fj.embedding(i, t) ** 2).sum())
    _vmap_both(emb_grad, (None, 0), (r(4, 3), jnp.array([[0, 1, 1], [3, 2, 0]])))  # per-example table grads
    sm_grad = jax.grad(lambda x, w: (fj.softmax(x) * w).sum())
    _vmap_both(sm_grad, (0, None), (r(3, 2, 4), r(2, 4, seed=3)))
    ln_grad = jax.grad(lambda x, g, b: (fj.layer_norm(x, g, b) ** 2).sum(), argnums=(0, 1, 2))
    _vmap_both(ln_grad, (0, None, None), (r(3, 2, 4), r(4), r(4, seed=1)))  # per-example dgamma, dbeta
    inner = jax.vmap(lambda a, b: fj.gemm(a, b), in_axes=(0, None))
    _vmap_both(inner, (None, 0), (r(2, 3, 4), r(3, 4, 5)))  # two leading axes, each operand mapped on one


@needs_ffi
def test_errors_carry_the_contract_message():
    with pytest.raises(Exception, match="INVALID_ARGUMENT: ValueError: conv2d: x has 2 channels but kernel"):
        jax.block_until_ready(fj.conv2d(jnp.ones((1, 3, 3, 2)), jnp.ones((1, 1, 3, 1))))
    with pytest.raises(Exception, match="attention: k and v must have the same length"):
        jax.block_until_ready(jax.jit(fj.attention)(r(1, 1, 2, 4), r(1, 1, 3, 4), r(1, 1, 5, 4)))
    with pytest.raises(Exception, match=r"lstm: bias must have shape \(20,\)"):
        jax.block_until_ready(fj.lstm(r(2, 4, 3), r(2, 5), r(2, 5), r(3, 20), r(5, 20), r(16))[0])
    # the Python wrappers refuse other dtypes while tracing; the handler's own check (the contract's words)
    # stands behind them for a direct call
    f32 = lambda *s: jax.ShapeDtypeStruct(s, jnp.float32)  # noqa: E731
    gemm_attrs = dict(trans_a=False, trans_b=False, alpha=np.float32(1), beta=np.float32(0))
    with pytest.raises(Exception, match="TypeError: gemm: a must be float32, got int32"):
        jax.block_until_ready(_ffi.call("forgenet_gemm", f32(2, 2), jnp.ones((2, 2), jnp.int32), r(2, 2), **gemm_attrs))
    with pytest.raises(Exception, match=r"gemm: inner dimensions must match"):
        jax.block_until_ready(_ffi.call("forgenet_gemm", f32(2, 2), r(2, 3), r(2, 2), **gemm_attrs))
    with pytest.raises(Exception, match=r"gemm: the output must have shape \(2, 2\), got \(2, 3\)"):
        jax.block_until_ready(_ffi.call("forgenet_gemm", f32(2, 3), r(2, 2), r(2, 2), **gemm_attrs))
    with pytest.raises(Exception, match=r"attention: q must have rank 4, got shape \(2, 4\)"):
        jax.block_until_ready(_ffi.call("forgenet_attention", (f32(1, 1, 2, 4), f32(1, 1, 2)), r(2, 4), r(2, 4),
                                        r(2, 4), causal=False, has_scale=False, scale=np.float64(0)))
    with pytest.raises(Exception, match=r"layer_norm: gamma must have shape \(5,\) to match x \(2, 5\), got \(4,\)"):
        jax.block_until_ready(fj.layer_norm(r(2, 5), r(4), r(5)))
    with pytest.raises(Exception, match=r"softmax_backward: dy and y must have the same shape, got \(2, 3\) and \(2, 4\)"):
        jax.block_until_ready(_ffi.call("forgenet_softmax_backward", f32(2, 4), r(2, 3), r(2, 4), rank=np.int64(2)))
    with pytest.raises(Exception, match=r"TypeError: softmax: x must be float32, got int32"):
        jax.block_until_ready(_ffi.call("forgenet_softmax", jax.ShapeDtypeStruct((3,), jnp.float32),
                                        jnp.ones((3,), jnp.int32), rank=np.int64(1)))
    pool_attrs = dict(pool_h=np.int64(2), pool_w=np.int64(2), stride_h=np.int64(2), stride_w=np.int64(2), same=False)
    with pytest.raises(Exception, match=r"max_pool2d: x must have rank 4, got shape \(4, 4\)"):
        jax.block_until_ready(_ffi.call("forgenet_max_pool2d", f32(1, 2, 2, 1), r(4, 4), **pool_attrs))
    with pytest.raises(Exception, match=r"avg_pool2d_backward: dy must have the forward output's shape"):
        jax.block_until_ready(_ffi.call("forgenet_avg_pool2d_backward", f32(1, 4, 4, 1), r(1, 3, 3, 1),
                                        r(1, 4, 4, 1), **pool_attrs))
    with pytest.raises(Exception, match=r"embedding: ids must be in \[0, 4\), got 7 at flat index 1"):
        jax.block_until_ready(fj.embedding(jnp.array([1, 7, 0]), r(4, 3)))
    with pytest.raises(Exception, match=r"embedding_backward: ids must be in \[0, 2\), got 3 at flat index 0"):
        jax.block_until_ready(_ffi.call("forgenet_embedding_backward", f32(2, 3), r(1, 3), jnp.array([3]),
                                        input_dim=np.int64(2)))
    with pytest.raises(Exception, match=r"TypeError: embedding: ids must be int64, got float32"):
        jax.block_until_ready(_ffi.call("forgenet_embedding", f32(2, 3), r(2), r(4, 3), rank=np.int64(1)))
    with pytest.raises(Exception, match=r"softmax_cross_entropy: labels must be in \[0, 3\), got 5"):
        jax.block_until_ready(fj.softmax_cross_entropy(r(2, 3), jnp.array([0, 5])))
    with pytest.raises(Exception, match=r"softmax_cross_entropy: labels must have shape \(2,\) to match logits"):
        jax.block_until_ready(_ffi.call("forgenet_softmax_cross_entropy", (f32(2), f32(2, 3)), r(2, 3),
                                        jnp.array([0, 1, 2])))

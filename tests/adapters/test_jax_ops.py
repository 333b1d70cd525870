"""forgenet.jax: values and gradients under jit and grad against JAX's own ops (float32 both sides),
including jax.nn.dot_product_attention and lax.conv_general_dilated."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import forgenet.jax as fj  # noqa: E402

TOL = dict(rtol=2e-4, atol=2e-5)


def r(*shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype(np.float32))


def _same(ours, ref, args, argnums=None, tol=TOL):
    """Equal values and gradients (of a random projection of the output), both under jit."""
    argnums = tuple(range(len(args))) if argnums is None else argnums
    ya, yb = jax.jit(ours)(*args), jax.jit(ref)(*args)
    np.testing.assert_allclose(ya, yb, **tol)
    w = r(*ya.shape, seed=11)
    ga = jax.jit(jax.grad(lambda *a: (ours(*a) * w).sum(), argnums=argnums))(*args)
    gb = jax.jit(jax.grad(lambda *a: (ref(*a) * w).sum(), argnums=argnums))(*args)
    for a, b in zip(ga, gb):
        np.testing.assert_allclose(a, b, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm(ta, tb):
    a, b, c = r(5, 3) if ta else r(3, 5), r(4, 5) if tb else r(5, 4), r(3, 4)
    _same(lambda a, b, c: fj.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0),
          lambda a, b, c: 0.5 * (a.T if ta else a) @ (b.T if tb else b) + 2.0 * c, (a, b, c))


@pytest.mark.parametrize("padding,strides", [("VALID", (1, 1)), ("SAME", (1, 1)), ("SAME", (2, 2)), ("VALID", (2, 1))])
def test_conv2d_vs_lax_conv(padding, strides):
    x, k, b = r(2, 7, 6, 3), r(3, 2, 3, 4), r(4)

    def ref(x, k, b):  # lax's SAME is TensorFlow's rule, as ours
        return lax.conv_general_dilated(x, k, strides, padding, dimension_numbers=("NHWC", "HWIO", "NHWC")) + b

    _same(lambda x, k, b: fj.conv2d(x, k, b, strides=strides, padding=padding), ref, (x, k, b))


@pytest.mark.parametrize("causal", [False, True])
def test_dot_product_attention_vs_jax_nn(causal):
    q, k, v = r(2, 6, 3, 8), r(2, 6, 3, 8), r(2, 6, 3, 8)  # (B, T, N, H)
    _same(lambda q, k, v: fj.dot_product_attention(q, k, v, is_causal=causal),
          lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=causal), (q, k, v))
    with pytest.raises(NotImplementedError, match="mask"):
        fj.dot_product_attention(q, k, v, mask=jnp.ones((2, 3, 6, 6), bool))


def test_attention_bhnd_with_scale_and_lengths():
    q, k, v = r(1, 2, 5, 4), r(1, 2, 7, 4), r(1, 2, 7, 3)

    def ref(q, k, v):
        s = jnp.einsum("bhqd,bhkd->bhqk", q, k) * 0.3
        return jnp.einsum("bhqk,bhkd->bhqd", jax.nn.softmax(s, -1), v)

    _same(lambda q, k, v: fj.attention(q, k, v, scale=0.3), ref, (q, k, v))


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling(kind):
    x = r(2, 6, 6, 3)
    init, op = (-jnp.inf, lax.max) if kind == "max" else (0.0, lax.add)

    def ref(x):
        y = lax.reduce_window(x, init, op, (1, 3, 3, 1), (1, 2, 2, 1), "VALID")
        return y if kind == "max" else y / 9

    _same(lambda x: getattr(fj, f"{kind}_pool2d")(x, 3, 2), ref, (x,))


def test_softmax_and_cross_entropy():
    x = r(4, 5)
    labels = jnp.array([0, 4, 2, 1])
    _same(lambda x: fj.softmax(x, 0), lambda x: jax.nn.softmax(x, 0), (x,))
    _same(lambda x: fj.softmax_cross_entropy(x, labels),
          lambda x: -jnp.take_along_axis(jax.nn.log_softmax(x), labels[:, None], 1)[:, 0], (x,))


def test_lstm():
    args = (r(2, 4, 3), r(2, 5), r(2, 5), r(3, 20), r(5, 20), r(20))

    def ref(x, h, c, kernel, rk, bias):
        def step(hc, xt):
            h, c = hc
            i, f, g, o = jnp.split(xt @ kernel + h @ rk + bias, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        (h, c), ys = lax.scan(step, (h, c), jnp.swapaxes(x, 0, 1))
        return jnp.swapaxes(ys, 0, 1), h, c

    for pick in range(3):
        _same(lambda *a: fj.lstm(*a)[pick], lambda *a: ref(*a)[pick], args)


def test_embedding_and_layer_norm():
    ids = jnp.array([[0, 3, 3], [1, 0, 3]])
    _same(lambda e: fj.embedding(ids, e), lambda e: e[ids], (r(4, 5),))

    def ref(x, g, b):
        m = x.mean(-1, keepdims=True)
        return (x - m) / jnp.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + 1e-3) * g + b

    _same(lambda x, g, b: fj.layer_norm(x, g, b), ref, (r(3, 4, 6), r(6), r(6)))


def test_vmap_and_errors():
    a, b = r(3, 2, 4), r(4, 5)
    np.testing.assert_allclose(jax.vmap(lambda a: fj.gemm(a, b))(a), a @ b, **TOL)
    with pytest.raises(TypeError, match="forgenet.jax.gemm: a must be float32"):
        fj.gemm(jnp.ones((2, 2), jnp.int32), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="inner dimensions"):
        fj.gemm(jnp.ones((2, 3)), jnp.ones((2, 3)))
    with pytest.raises(Exception, match="conv2d: x has 2 channels but kernel"):  # raised in the callback
        jax.block_until_ready(fj.conv2d(jnp.ones((1, 3, 3, 2)), jnp.ones((1, 1, 3, 1))))

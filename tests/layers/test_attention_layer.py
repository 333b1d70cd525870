"""MultiHeadAttention and LayerNormalization: forward vs float64 numpy references of Keras's
formulas, gradients vs finite differences, the fused and materialised paths against each other,
Keras 3 weight exchange (outputs and torch-autograd gradients), configs and errors."""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before any keras import; torch CPU is the peer

import numpy as np
import pytest

import forgenet
from forgenet import layers
from forgenet.autograd import Tensor, Variable

from _layer_refs import check_layer_grads
from support import assert_close, numeric_grad


# ---- references -------------------------------------------------------------------------------------
def ln_ref(x, gamma, beta, axes, eps=1e-3):
    x = np.asarray(x, np.float64)
    m = x.mean(axis=tuple(axes), keepdims=True)
    var = ((x - m) ** 2).mean(axis=tuple(axes), keepdims=True)
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    return (x - m) / np.sqrt(var + eps) * np.reshape(gamma, shape) + np.reshape(beta, shape)


def mha_ref(query, value, key, weights, mask=None, use_bias=True):
    """Keras 3's MultiHeadAttention in float64: einsum projections, query scaled by 1/sqrt(key_dim),
    -1e9 added where masked, softmax, einsum output projection."""
    w = [np.asarray(a, np.float64) for a in weights]
    if use_bias:
        wq, bq, wk, bk, wv, bv, wo, bo = w
    else:
        (wq, wk, wv, wo), bq, bk, bv, bo = w, 0, 0, 0, 0
    q = np.einsum("btd,dhk->bhtk", query, wq) + (np.asarray(bq)[None, :, None] if use_bias else 0)
    k = np.einsum("bsd,dhk->bhsk", key, wk) + (np.asarray(bk)[None, :, None] if use_bias else 0)
    v = np.einsum("bsd,dhk->bhsk", value, wv) + (np.asarray(bv)[None, :, None] if use_bias else 0)
    s = np.einsum("bhtk,bhsk->bhts", q / np.sqrt(wq.shape[-1]), k)
    if mask is not None:  # s - 1e9 in float32 is -1e9 for any |s| < 32: fully masked rows attend uniformly
        s = np.where(mask[:, None] > 0, s, -1e9)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bhts,bhsv,hvo->bto", p, v, wo) + bo, p


def causal(t, s):
    return np.tril(np.ones((t, s)))[None]


def randomize(layer, rng):
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in layer.get_weights()])


# ---- LayerNormalization -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((4, 6), -1), ((2, 5, 8), -1), ((2, 3, 4, 5), [2, 3]), ((3, 4, 5), 1),
                                        ((2, 3, 4), [0, 2])])
def test_layer_norm_forward_and_grads(rng, shape, axis):
    layer = layers.LayerNormalization(axis=axis)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    layer(x)
    randomize(layer, rng)
    axes = sorted(a % len(shape) for a in np.atleast_1d(axis))
    gamma, beta = layer.get_weights()
    assert gamma.shape == tuple(shape[a] for a in axes)
    assert_close(layer(x), ln_ref(x, gamma, beta, axes), rtol=1e-4, atol=1e-4)
    check_layer_grads(layer, x, rng)


def test_layer_norm_without_center_or_scale(rng):
    x = rng.standard_normal((3, 7)).astype(np.float32)
    for center, scale, n in ((False, True, 1), (True, False, 1), (False, False, 0)):
        layer = layers.LayerNormalization(center=center, scale=scale, epsilon=1e-5)
        assert_close(layer(x), ln_ref(x, np.ones(7), np.zeros(7), [1], 1e-5), rtol=1e-4, atol=1e-5)
        assert len(layer.get_weights()) == n
    check_layer_grads(layers.LayerNormalization(center=False), x, rng)


def test_layer_norm_config_and_errors(rng):
    layer = layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False, name="ln")
    cfg = json.loads(json.dumps(layer.get_config()))
    assert cfg["axis"] == [1, 2] and cfg["epsilon"] == 1e-5 and cfg["center"] is False
    assert layers.LayerNormalization.from_config(cfg).axis == [1, 2]
    with pytest.raises(ValueError, match=r"ln\w*: axis \[3\] is out of range for input of shape \(2, 3\)"):
        layers.LayerNormalization(axis=3, name="ln")(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="layer_normalization\\w*: epsilon must be a number >= 0"):
        layers.LayerNormalization(epsilon=-1)
    with pytest.raises(ValueError, match="axis must be an int or a list of ints"):
        layers.LayerNormalization(axis="x")
    ln = layers.LayerNormalization(name="ln2")
    ln(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"ln2: expected sizes \(4,\) on axes \[1\], got input of shape \(2, 5\)"):
        ln(np.ones((2, 5), np.float32))


# ---- MultiHeadAttention -------------------------------------------------------------------------------
CASES = {  # name: (query shape, value shape, key shape or None, heads, key_dim, value_dim, output_shape)
    "self": ((2, 9, 8), (2, 9, 8), None, 2, 4, None, None),
    "cross": ((2, 5, 6), (2, 11, 10), (2, 11, 7), 3, 4, 5, None),
    "out_shape": ((1, 70, 16), (1, 66, 16), None, 4, 16, 8, 12),
}


def make(rng, name, use_bias=True):
    qs, vs, ks, h, kd, vd, out = CASES[name]
    layer = layers.MultiHeadAttention(h, kd, value_dim=vd, use_bias=use_bias, output_shape=out)
    q, v = rng.standard_normal(qs).astype(np.float32), rng.standard_normal(vs).astype(np.float32)
    k = None if ks is None else rng.standard_normal(ks).astype(np.float32)
    layer(q, v, k)
    randomize(layer, rng)
    return layer, q, v, k


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("name", sorted(CASES))
def test_mha_matches_reference(rng, name, use_bias):
    layer, q, v, k = make(rng, name, use_bias)
    kk = v if k is None else k
    w = layer.get_weights()
    qs, vs, ks, h, kd, vd, out = CASES[name]
    out = out or qs[-1]
    assert [a.shape for a in w] == ([(qs[-1], h, kd), (h, kd), (kk.shape[-1], h, kd), (h, kd), (vs[-1], h, vd or kd),
                                     (h, vd or kd), (h, vd or kd, out), (out,)][:: 1 if use_bias else 2])
    assert_close(layer(q, v, k), mha_ref(q, v, kk, w, use_bias=use_bias)[0], rtol=1e-4, atol=1e-4, what="plain")
    t, s = q.shape[1], v.shape[1]
    assert_close(layer(q, v, k, use_causal_mask=True), mha_ref(q, v, kk, w, causal(t, s), use_bias)[0],
                 rtol=1e-4, atol=1e-4, what="causal")
    mask = rng.random((q.shape[0], t, s)) < 0.7
    mask[:, 0] = False  # a fully masked row attends uniformly (Keras's additive mask)
    y, scores = layer(q, v, k, attention_mask=mask, return_attention_scores=True)
    ry, rp = mha_ref(q, v, kk, w, mask.astype(np.float64), use_bias)
    assert_close(y, ry, rtol=1e-4, atol=1e-4, what="masked")
    assert_close(scores, rp, rtol=1e-4, atol=1e-5, what="scores")


def test_mha_fused_and_materialised_paths_agree_with_gradients(rng):
    layer, q, v, k = make(rng, "cross")
    g = rng.standard_normal((2, 5, 6)).astype(np.float32)
    t, s = q.shape[1], v.shape[1]
    results = []
    for kwargs in ({"use_causal_mask": True}, {"attention_mask": causal(t, s).repeat(2, 0)}):
        qt, vt, kt = Variable(q.copy()), Variable(v.copy()), Variable(k.copy())
        for w in layer.trainable_weights:
            w.grad = None
        (layer(qt, vt, kt, **kwargs) * Tensor(g)).sum().backward()
        results.append([qt.grad, vt.grad, kt.grad] + [w.grad for w in layer.trainable_weights])
    for a, b in zip(*results):
        assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["plain", "causal", "mask"])
def test_mha_gradients_match_finite_differences(rng, mode):
    layer = layers.MultiHeadAttention(2, 3, value_dim=2, output_shape=4)
    q, v = rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 3, 6))
    layer(q.astype(np.float32), v.astype(np.float32))
    randomize(layer, rng)
    kwargs = {"plain": {}, "causal": {"use_causal_mask": True},
              "mask": {"attention_mask": rng.random((2, 4, 3)) < 0.6}}[mode]
    w = rng.standard_normal((2, 4, 4))
    qt, vt = Variable(q.astype(np.float32)), Variable(v.astype(np.float32))
    (layer(qt, vt, **kwargs) * Tensor(w.astype(np.float32))).sum().backward()

    def f():
        return float((mha_ref(q, v, v, [p.data for p in layer.weights],
                              None if mode == "plain" else np.asarray(
                                  kwargs.get("attention_mask", causal(4, 3)), np.float64))[0] * w).sum())

    assert_close(qt.grad, numeric_grad(f, q, 1e-6), rtol=1e-3, atol=1e-4, what="d/dquery")
    assert_close(vt.grad, numeric_grad(f, v, 1e-6), rtol=1e-3, atol=1e-4, what="d/dvalue")
    for p in layer.trainable_weights:
        data64 = p.data.astype(np.float64)
        p.data = data64
        num = numeric_grad(f, data64, 1e-6)
        p.data = data64.astype(np.float32)
        assert_close(p.grad, num, rtol=1e-3, atol=1e-4, what=p.name)


def test_mha_dropout_only_in_training_and_seeded(rng):
    layer, q, v, _ = make(rng, "self")
    layer.dropout = 0.5
    ref = mha_ref(q, v, v, layer.get_weights())[0]
    assert_close(layer(q, v), ref, rtol=1e-4, atol=1e-4)
    forgenet.utils.set_random_seed(3)
    a = layer(q, v, training=True)
    forgenet.utils.set_random_seed(3)
    b = layer(q, v, training=True)
    assert np.array_equal(a, b) and not np.allclose(a, ref, atol=1e-3)


def test_mha_config_round_trip(rng):
    layer = layers.MultiHeadAttention(4, 8, value_dim=6, dropout=0.1, use_bias=False, output_shape=10, name="mha")
    cfg = json.loads(json.dumps(layer.get_config()))
    again = layers.MultiHeadAttention.from_config(cfg)
    assert (again.num_heads, again.key_dim, again.value_dim, again.dropout, again.use_bias, again.output_shape_arg) == \
        (4, 8, 6, 0.1, False, 10)
    assert layer.compute_output_shape((2, 5, 3)) == (2, 5, 10)


def test_mha_errors(rng):
    with pytest.raises(ValueError, match="mha: num_heads must be a positive integer, got 0"):
        layers.MultiHeadAttention(0, 4, name="mha")
    with pytest.raises(ValueError, match="dropout must be a number in \\[0, 1\\]"):
        layers.MultiHeadAttention(2, 4, dropout=2.0)
    layer = layers.MultiHeadAttention(2, 4, name="mha2")
    q = np.ones((2, 3, 5), np.float32)
    with pytest.raises(ValueError, match=r"mha2: expected query of rank 3 \(batch, sequence, features\)"):
        layer(np.ones((3, 5), np.float32), q)
    layer(q, q)
    with pytest.raises(ValueError, match=r"mha2: expected value of shape \(batch, sequence, 5\), got \(2, 3, 4\)"):
        layer(q, np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="mha2: query, key and value must have the same batch size"):
        layer(q, np.ones((1, 3, 5), np.float32))
    with pytest.raises(ValueError, match="mha2: key and value must have the same sequence length"):
        layer(q, q, np.ones((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"mha2: attention_mask must have shape \(batch, 3, 3\)"):
        layer(q, q, attention_mask=np.ones((2, 3, 4), bool))


# ---- Keras 3 exchange -----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("kwargs", [{}, {"use_causal_mask": True}, {"mask": True}])
def test_mha_keras_weights_outputs_and_gradients(rng, kwargs):
    keras = pytest.importorskip("keras")
    torch = pytest.importorskip("torch")
    if keras.backend.backend() != "torch":
        pytest.skip("needs Keras on the torch backend")
    q = rng.standard_normal((2, 6, 8)).astype(np.float32)
    v = rng.standard_normal((2, 7, 5)).astype(np.float32)
    call = dict(kwargs)
    if call.pop("mask", False):
        call["attention_mask"] = rng.random((2, 6, 7)) < 0.7
    kl = keras.layers.MultiHeadAttention(3, 4, value_dim=2, bias_initializer="random_normal")
    fl = layers.MultiHeadAttention(3, 4, value_dim=2)
    qt, vt = torch.tensor(q, requires_grad=True), torch.tensor(v, requires_grad=True)
    g = rng.standard_normal((2, 6, 8)).astype(np.float32)
    ky = kl(qt, vt, **call)
    (ky * torch.tensor(g)).sum().backward()
    fl(q, v)
    assert [w.shape for w in fl.get_weights()] == [tuple(w.shape) for w in kl.get_weights()]
    fl.set_weights(kl.get_weights())
    qf, vf = Variable(q), Variable(v)
    fy = fl(qf, vf, **call)
    assert_close(fy.data, ky.detach().numpy(), rtol=1e-4, atol=1e-5, what="output")
    (fy * Tensor(g)).sum().backward()
    assert_close(qf.grad, qt.grad.numpy(), rtol=1e-4, atol=1e-5, what="d/dquery")
    assert_close(vf.grad, vt.grad.numpy(), rtol=1e-4, atol=1e-5, what="d/dvalue")
    for kw, fw in zip(kl.trainable_weights, fl.trainable_weights):
        assert_close(fw.grad, kw.value.grad.numpy(), rtol=1e-4, atol=1e-5, what=fw.name)
    assert set(fl.get_config()) <= set(kl.get_config())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("axis", [-1, [1, 2]])
def test_layer_norm_keras_exchange(rng, axis):
    keras = pytest.importorskip("keras")
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    kl = keras.layers.LayerNormalization(axis=axis, beta_initializer="random_normal", gamma_initializer="random_normal")
    fl = layers.LayerNormalization(axis=axis)
    ky = keras.ops.convert_to_numpy(kl(x))
    fl(x)
    fl.set_weights(kl.get_weights())
    assert_close(fl(x), ky, rtol=1e-4, atol=1e-5)
    assert set(fl.get_config()) <= set(kl.get_config())

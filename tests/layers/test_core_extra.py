"""Lambda, Masking, Identity, the activation layers and Attention / AdditiveAttention against Keras 3
(torch backend) with the same weights; Lambda's config refuses bytecode unless safe_mode=False."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import; torch CPU is the reference peer

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import forgenet.layers as L  # noqa: E402
from forgenet.autograd import Tensor, Variable  # noqa: E402

from _keras_parity import config_round_trip, parity  # noqa: E402
from support import assert_close  # noqa: E402

R = np.random.default_rng(11)
X = (R.standard_normal((2, 5, 6)) * 2).astype(np.float32)

ACTS = [("ReLU", {}), ("ReLU", dict(max_value=1.5)), ("ReLU", dict(negative_slope=0.1, threshold=0.5)),
        ("ReLU", dict(negative_slope=0.1, threshold=0.5, max_value=2.0)), ("ReLU", dict(threshold=0.3)),
        ("ReLU", dict(max_value=6.0)), ("LeakyReLU", {}), ("LeakyReLU", dict(negative_slope=0.05)),
        ("ELU", {}), ("ELU", dict(alpha=0.7)), ("Softmax", {}), ("Softmax", dict(axis=1)),
        ("Softmax", dict(axis=(1, 2))), ("PReLU", {}), ("PReLU", dict(shared_axes=[1])), ("Identity", {})]


@pytest.mark.parametrize("name,kwargs", ACTS, ids=[f"{n}-{k}" for n, k in ACTS])
def test_activation_layers_match_keras(name, kwargs):
    ours, theirs = getattr(L, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    if name == "PReLU":
        theirs(X)
        theirs.set_weights([R.standard_normal(w.shape).astype(np.float32) for w in theirs.get_weights()])
    parity(ours, theirs, X, training=None)
    config_round_trip(ours, X)


def test_leaky_relu_default_slope_is_keras3s():
    assert L.LeakyReLU().negative_slope == 0.3 == keras.layers.LeakyReLU().negative_slope


def test_softmax_mask_matches_keras():
    mask = np.array([[1, 1, 1, 0, 0, 1], [1] * 6], bool)[:, None, :]
    parity(L.Softmax(), keras.layers.Softmax(), X, training=None, mask=mask)


def test_masking_matches_keras():
    x = X.copy()
    x[0, 2:4] = 0.0
    ours, theirs = L.Masking(), keras.layers.Masking()
    parity(ours, theirs, x, training=None)
    np.testing.assert_array_equal(ours.compute_mask(x), keras.ops.convert_to_numpy(theirs.compute_mask(x)))


@pytest.mark.parametrize("cls,kwargs", [("Attention", {}), ("Attention", dict(use_scale=True)),
                                        ("Attention", dict(score_mode="concat", use_scale=True)),
                                        ("Attention", dict(score_mode="concat")),
                                        ("AdditiveAttention", {}), ("AdditiveAttention", dict(use_scale=False))])
@pytest.mark.parametrize("call", ["plain", "mask", "causal"])
def test_attention_layers_match_keras(cls, kwargs, call):
    import torch

    q, v, k = (R.standard_normal(s).astype(np.float32) for s in ((2, 4, 6), (2, 5, 6), (2, 5, 6)))
    call_kw = {"plain": {}, "causal": dict(use_causal_mask=True),
               "mask": dict(mask=[np.array([[1, 1, 0, 1], [1] * 4], bool), np.array([[1, 1, 1, 0, 0], [1] * 5], bool)])}[call]
    ours, theirs = getattr(L, cls)(**kwargs), getattr(keras.layers, cls)(**kwargs)
    theirs([q, v, k])
    ours([q, v, k])
    theirs.set_weights([w + R.uniform(0.1, 0.5, w.shape).astype(np.float32) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    out, scores = ours([q, v, k], return_attention_scores=True, **call_kw)
    ko, ks = theirs([q, v, k], return_attention_scores=True, **call_kw)
    assert_close(out, keras.ops.convert_to_numpy(ko), rtol=1e-5, atol=1e-5, what="output")
    assert_close(scores, keras.ops.convert_to_numpy(ks), rtol=1e-5, atol=1e-5, what="scores")
    # gradients for query, value, key and the weights
    r = R.standard_normal(out.shape).astype(np.float32)
    tq, tv, tk = (torch.tensor(a, requires_grad=True) for a in (q, v, k))
    loss = (theirs([tq, tv, tk], **call_kw) * torch.tensor(r)).sum()
    want = torch.autograd.grad(loss, [tq, tv, tk] + [w.value for w in theirs.trainable_weights])
    vq, vv, vk = Variable(q.copy()), Variable(v.copy()), Variable(k.copy())
    (ours([vq, vv, vk], **call_kw) * Tensor(r)).sum().backward()
    for got, w, what in zip([vq.grad, vv.grad, vk.grad] + [w.grad for w in ours.trainable_weights], want,
                            ["dq", "dv", "dk"] + [w.name for w in ours.trainable_weights]):
        assert_close(got, w.numpy(), rtol=1e-4, atol=1e-4, what=what)
    config_round_trip(ours)


def test_attention_dropout_only_in_training():
    q = R.standard_normal((2, 4, 6)).astype(np.float32)
    layer = L.Attention(dropout=0.5, seed=1)
    np.testing.assert_array_equal(layer([q, q]), layer([q, q]))
    assert not np.allclose(layer([q, q], training=True), layer([q, q]))


def square(x):
    return x * x


def test_lambda_forward_gradient_and_config():
    layer = L.Lambda(lambda x, k: x * k, arguments={"k": 3.0})
    xv = Variable(X.copy())
    layer(xv).sum().backward()
    np.testing.assert_allclose(xv.grad, 3.0)
    cfg = layer.get_config()
    assert cfg["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="safe_mode=False"):
        L.Lambda.from_config(cfg)
    clone = L.Lambda.from_config(cfg, safe_mode=False)
    np.testing.assert_allclose(clone(X), X * 3.0)
    named = L.Lambda(square)
    back = L.Lambda.from_config(named.get_config())  # a module-level function loads by name in safe mode
    np.testing.assert_allclose(back(X), X * X)


def test_activation_bad_arguments():
    with pytest.raises(ValueError, match="threshold must be a number >= 0"):
        L.ReLU(threshold=-1.0)
    with pytest.raises(ValueError, match="max_value must be a number >= 0"):
        L.ReLU(max_value=-1.0)
    with pytest.raises(ValueError, match="score_mode must be one of"):
        L.Attention(score_mode="general")
    with pytest.raises(ValueError, match="inputs must be a list"):
        L.Attention()([X])
    with pytest.raises(ValueError, match="function must be callable"):
        L.Lambda(3)

"""Keras parity for a layer: the same weights in both, then forward outputs and the gradients of
sum(y * r) with respect to the input and every trainable weight (torch autograd on Keras's side).

Import after KERAS_BACKEND=torch is set (the test modules set it before importing keras).
"""
import keras
import numpy as np

from forgenet.autograd import Tensor, Variable

from support import assert_close


def keras_grads(klayer, x, r, training=False, **call_kw):
    import torch

    xt = torch.tensor(x, requires_grad=True)
    y = klayer(xt, training=training, **call_kw) if training is not None else klayer(xt, **call_kw)
    if isinstance(y, (list, tuple)):
        y = y[0]
    weights = [w.value for w in klayer.trainable_weights]
    loss = (y * torch.tensor(r)).sum()
    grads = torch.autograd.grad(loss, [xt] + weights, allow_unused=True)
    return y.detach().numpy(), [None if g is None else g.numpy() for g in grads]


def parity(ours, klayer, x, *, training=False, grads=True, rtol=1e-4, atol=1e-5, seed=0, **call_kw):
    """Builds klayer on x, copies its weights into `ours`, compares outputs and (with grads) gradients."""
    x = np.asarray(x, np.float32)
    klayer(x, **call_kw) if not klayer.built else None
    ours(x, **call_kw) if not ours.built else None
    ours.set_weights(klayer.get_weights())
    want = klayer(x, training=training, **call_kw) if training is not None else klayer(x, **call_kw)
    want = keras.ops.convert_to_numpy(want)
    got = ours(x, training=training, **call_kw) if training is not None else ours(x, **call_kw)
    assert_close(got, want, rtol=rtol, atol=atol, what=f"{ours.name} forward")
    if not grads:
        return got
    r = np.random.default_rng(seed).standard_normal(want.shape).astype(np.float32)
    _, kg = keras_grads(klayer, x, r, training=training, **call_kw)
    for w in ours.trainable_weights:
        w.grad = None  # a previous parity call's gradients would add in
    xv = Variable(x.copy())
    y = ours(xv, training=training, **call_kw) if training is not None else ours(xv, **call_kw)
    (y * Tensor(r)).sum().backward()
    assert_close(xv.grad, kg[0], rtol=rtol * 10, atol=atol * 10, what=f"{ours.name} d/dx")
    for w, g in zip(ours.trainable_weights, kg[1:]):
        assert_close(w.grad, g, rtol=rtol * 10, atol=atol * 10, what=f"{ours.name} d/d{w.name}")
    return got


def config_round_trip(layer, x=None):
    """from_config(get_config()) makes the same layer (and, given x and built weights, the same output)."""
    cfg = layer.get_config()
    clone = type(layer).from_config(dict(cfg))
    assert clone.get_config() == {**cfg, "name": clone.name} or clone.get_config() == cfg
    if x is not None and layer.built:
        clone(x)
        clone.set_weights(layer.get_weights())
        assert_close(clone(x), layer(x), rtol=1e-6, atol=1e-6, what=f"{layer.name} clone")
    return clone

"""Activation, Flatten, Reshape, Dropout: forward vs numpy, gradients, training/inference behaviour,
config round trips, errors that name the layer."""
import json
import math

import numpy as np
import pytest

import forgenet
from forgenet import layers
from forgenet.autograd import Tensor, Variable

from _layer_refs import check_layer_grads
from support import assert_close

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}  # Keras's dtype policy, as get_config writes it

REFS = {
    "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z, "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softmax": lambda z: np.exp(z - z.max(-1, keepdims=True)) / np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True),
    "gelu": lambda z: 0.5 * z * (1 + np.vectorize(math.erf)(z / math.sqrt(2))),
}


@pytest.mark.parametrize("name", sorted(REFS))
def test_activation_forward_and_grad(rng, name):
    layer = layers.Activation(name)
    x = (rng.standard_normal((3, 4, 5)) * 3).astype(np.float32)
    assert_close(layer(x), REFS[name](x.astype(np.float64)), what=name)
    assert layer.compute_output_shape((3, 4, 5)) == (3, 4, 5)
    assert json.loads(json.dumps(layer.get_config()))["activation"] == name
    assert layers.Activation.from_config(layer.get_config()).activation is layer.activation
    check_layer_grads(layers.Activation(name), (rng.standard_normal((2, 5)) + 0.1).astype(np.float32), rng)


def test_activation_errors():
    with pytest.raises(ValueError, match=r"activation\w*: Unknown activation 'softplusx'; expected one of"):
        layers.Activation("softplusx")
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'activation'"):
        layers.Activation()


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 7), (4,), (3, 1, 1, 1), (0, 3, 2)])
def test_flatten(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    y = layers.Flatten()(x)
    assert_close(y, x.reshape(shape[0], math.prod(shape[1:])))
    assert layers.Flatten().compute_output_shape(shape) == y.shape
    assert layers.Flatten().compute_output_shape((None,) + shape[1:]) == (None, y.shape[1])


def test_flatten_grad_and_errors(rng):
    check_layer_grads(layers.Flatten(), rng.standard_normal((2, 3, 2)).astype(np.float32), rng)
    with pytest.raises(ValueError, match=r"flatten\w*: expected input of rank >= 1 \(batch, ...\), got shape \(\)"):
        layers.Flatten()(np.float32(3.0))
    with pytest.raises(ValueError, match=r"flatten\w*: only data_format='channels_last' is supported"):
        layers.Flatten(data_format="channels_first")
    assert layers.Flatten(name="f").get_config() == {"name": "f", "trainable": True, "dtype": DTYPE,
                                                   "data_format": "channels_last"}


def test_reshape(rng):
    x = rng.standard_normal((2, 12)).astype(np.float32)
    assert_close(layers.Reshape((3, 4))(x), x.reshape(2, 3, 4))
    assert_close(layers.Reshape((-1, 2))(x), x.reshape(2, 6, 2))
    assert layers.Reshape((-1, 2)).compute_output_shape((None, 12)) == (None, 6, 2)
    check_layer_grads(layers.Reshape((2, 3)), x[:, :6].copy(), rng)
    cfg = json.loads(json.dumps(layers.Reshape((4, -1), name="r").get_config()))
    assert cfg == {"name": "r", "trainable": True, "dtype": DTYPE, "target_shape": [4, -1]}
    assert layers.Reshape.from_config(cfg).target_shape == (4, -1)
    with pytest.raises(ValueError, match=r"reshape\w*: cannot reshape input of shape \(2, 12\) to \(batch,\) \+ \(5, -1\)"):
        layers.Reshape((5, -1))(x)
    with pytest.raises(ValueError, match=r"reshape\w*: target_shape must hold positive sizes and at most one -1"):
        layers.Reshape((-1, -1))


def test_dropout_inference_is_identity(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    layer = layers.Dropout(0.5)
    assert_close(layer(x), x)
    assert_close(layer(x, training=False), x)
    t = Tensor(x)
    assert layer(t) is t


def test_dropout_training_mask_and_gradient(rng):
    forgenet.utils.set_random_seed(1)
    x = (rng.random((200, 100)) + 0.5).astype(np.float32)
    layer = layers.Dropout(0.3)
    y = layer(x, training=True)
    kept = y != 0
    assert 0.67 < kept.mean() < 0.73
    assert_close(y[kept], x[kept] / 0.7, rtol=1e-6)
    # gradient is the same mask and scale
    xt = Variable(x)
    forgenet.utils.set_random_seed(1)
    yt = layer(xt, training=True)
    assert_close(yt.data, y)
    yt.sum().backward()
    assert_close(xt.grad, kept / 0.7, rtol=1e-6)
    # rate 0 and rate 1
    assert_close(layers.Dropout(0.0)(x, training=True), x)
    assert not layers.Dropout(1.0)(x, training=True).any()


def test_dropout_seeding():
    x = np.ones((10, 10), np.float32)
    forgenet.utils.set_random_seed(7)
    a = layers.Dropout(0.5)(x, training=True)
    forgenet.utils.set_random_seed(7)
    b = layers.Dropout(0.5)(x, training=True)
    assert (a == b).all()
    c = layers.Dropout(0.5, seed=3)(x, training=True)
    d = layers.Dropout(0.5, seed=3)(x, training=True)
    assert (c == d).all() and not (c == a).all()
    layer = layers.Dropout(0.5, seed=3)
    assert not (layer(x, training=True) == layer(x, training=True)).all()  # a fresh mask each call


def test_dropout_config_and_errors():
    cfg = json.loads(json.dumps(layers.Dropout(0.25, seed=5, name="d").get_config()))
    assert cfg == {"name": "d", "trainable": True, "dtype": DTYPE, "rate": 0.25, "seed": 5,
                   "noise_shape": None}
    assert layers.Dropout.from_config(cfg).rate == 0.25
    for bad in (1.5, -0.1, "0.5", None):
        with pytest.raises(ValueError, match=r"dropout\w*: rate must be a float between 0 and 1, got"):
            layers.Dropout(bad)
    with pytest.raises(ValueError, match=r"dropout\w*: noise_shape is not supported"):
        layers.Dropout(0.5, noise_shape=(1, 5))
    with pytest.raises(ValueError, match=r"dropout\w*: seed must be an int or None, got 'a'"):
        layers.Dropout(0.5, seed="a")

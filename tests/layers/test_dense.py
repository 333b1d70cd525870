"""Dense: forward vs float64 numpy on inputs of rank 2-4, gradients vs finite differences, Keras
weight layout, config round trip, and errors that name the layer."""
import json

import numpy as np
import pytest

import forgenet
from forgenet import layers
from forgenet.autograd import Tensor

from _layer_refs import check_layer_grads
from support import assert_close

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}  # Keras's dtype policy, as get_config writes it

ACTS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "softmax": lambda z: np.exp(z - z.max(-1, keepdims=True)) / np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)}


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 7, 4), (2, 3, 2, 6), (33, 65)])
@pytest.mark.parametrize("act", sorted(ACTS))
def test_forward_matches_numpy(rng, shape, act):
    layer = layers.Dense(9, activation=act)
    x = rng.standard_normal(shape).astype(np.float32)
    y = layer(x)
    k, b = layer.get_weights()
    assert k.shape == (shape[-1], 9) and b.shape == (9,)
    b[:] = rng.standard_normal(9)
    layer.set_weights([k, b])
    ref = ACTS[act](np.matmul(x.astype(np.float64), k.astype(np.float64)) + b)
    y = layer(x)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    assert_close(y, ref, what=f"dense {shape} {act}")
    assert layer.output_shape == shape[:-1] + (9,) == layer.compute_output_shape(shape)


def test_no_bias(rng):
    layer = layers.Dense(4, use_bias=False, kernel_initializer="ones")
    x = rng.standard_normal((3, 5)).astype(np.float32)
    assert_close(layer(x), np.repeat(x.astype(np.float64).sum(1, keepdims=True), 4, 1))
    assert [w.shape for w in layer.get_weights()] == [(5, 4)]


@pytest.mark.parametrize("act,shape", [("linear", (3, 4)), ("tanh", (2, 3, 4)), ("softmax", (3, 4))])
def test_gradients(rng, act, shape):
    layer = layers.Dense(5, activation=act, bias_initializer="random_normal")
    check_layer_grads(layer, rng.standard_normal(shape).astype(np.float32), rng)


def test_tensor_in_tensor_out_and_weights_order(rng):
    layer = layers.Dense(3, input_shape=(4,))
    y = layer(Tensor(rng.standard_normal((2, 4)).astype(np.float32)))
    assert isinstance(y, Tensor)
    assert [w.name for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    assert layer.count_params() == 4 * 3 + 3
    with pytest.raises(ValueError, match=r"expects shape \(4, 3\), got \(3, 4\)"):
        layer.set_weights([np.zeros((3, 4)), np.zeros(3)])


def test_config_round_trip(rng):
    layer = layers.Dense(6, activation="gelu", use_bias=False, kernel_initializer="he_normal",
                         input_shape=(3,), name="head")
    cfg = json.loads(json.dumps(layer.get_config()))
    assert cfg == {"name": "head", "trainable": True, "units": 6, "activation": "gelu",  # no input_shape (Keras)
                   "use_bias": False, "dtype": DTYPE,
                   "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": None}, "registered_name": None},
                   "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}}
    clone = layers.Dense.from_config(cfg)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    clone(x)
    layer(x)
    clone.set_weights(layer.get_weights())
    assert_close(clone(x), layer(x))
    cfg = layers.Dense(2, kernel_initializer=forgenet.initializers.ones).get_config()
    assert cfg["kernel_initializer"]["class_name"] == "Ones"


def test_errors_name_the_layer(rng):
    with pytest.raises(ValueError, match=r"dense\w*: units must be a positive integer, got 0"):
        layers.Dense(0)
    with pytest.raises(ValueError, match=r"dense\w*: units must be a positive integer, got 2.5"):
        layers.Dense(2.5)
    with pytest.raises(ValueError, match=r"dense\w*: Unknown activation 'relux'"):
        layers.Dense(3, activation="relux")
    with pytest.raises(ValueError, match=r"dense\w*: Unknown initializer 'glorot'"):
        layers.Dense(3, kernel_initializer="glorot")
    with pytest.raises(ValueError, match=r"dense\w*: expected input of rank >= 2 \(batch, ..., features\), got shape \(5,\)"):
        layers.Dense(3)(np.zeros(5, np.float32))
    layer = layers.Dense(3, name="fc")
    layer(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"fc: expected input with last dimension 4, got shape \(2, 5\)"):
        layer(np.zeros((2, 5), np.float32))
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Dense"):
        layers.Dense(3, kernel_size=3)

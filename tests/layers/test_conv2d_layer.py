"""Conv2D: forward vs a float64 numpy reference over shapes, strides and both paddings (bias and ReLU
fused), gradients vs finite differences, Keras weight layout, config round trip, errors."""
import json

import numpy as np
import pytest

from forgenet import layers
from forgenet.autograd import Tensor

from _layer_refs import check_layer_grads, conv2d_ref
from support import assert_close

CASES = [  # (N, H, W, Cin), filters, kernel_size, strides, padding
    ((1, 5, 5, 1), 1, 3, 1, "valid"),
    ((2, 8, 7, 3), 4, (3, 2), 1, "same"),
    ((2, 9, 9, 2), 5, 3, 2, "same"),
    ((1, 10, 8, 3), 2, (4, 3), (2, 3), "valid"),
    ((3, 6, 6, 4), 8, 1, 1, "valid"),
    ((2, 7, 7, 2), 3, 5, 3, "same"),
    ((2, 12, 12, 1), 16, 3, 1, "valid"),
    ((1, 4, 4, 2), 3, 4, 1, "valid"),  # kernel as large as the input
]


@pytest.mark.parametrize("shape,filters,k,s,pad", CASES)
@pytest.mark.parametrize("act", [None, "relu", "tanh"])
def test_forward_matches_numpy(rng, shape, filters, k, s, pad, act):
    layer = layers.Conv2D(filters, k, strides=s, padding=pad, activation=act, bias_initializer="random_normal")
    x = rng.standard_normal(shape).astype(np.float32)
    y = layer(x)
    kernel, bias = layer.get_weights()
    kh, kw = (k, k) if isinstance(k, int) else k
    assert kernel.shape == (kh, kw, shape[3], filters) and bias.shape == (filters,)
    ref = conv2d_ref(x, kernel, bias, layer.strides, pad)
    ref = {None: ref, "relu": np.maximum(ref, 0), "tanh": np.tanh(ref)}[act]
    assert y.dtype == np.float32
    assert_close(y, ref, what=f"conv2d {shape} k={k} s={s} {pad} {act}")
    assert layer.compute_output_shape(shape) == y.shape == layer.output_shape


def test_no_bias_and_padding_case(rng):
    layer = layers.Conv2D(3, 2, padding="SAME", use_bias=False)
    x = rng.standard_normal((1, 5, 4, 2)).astype(np.float32)
    y = layer(x)
    (kernel,) = layer.get_weights()
    assert layer.padding == "same"
    assert_close(y, conv2d_ref(x, kernel, None, (1, 1), "same"))


@pytest.mark.parametrize("s,pad,act", [(1, "valid", None), (2, "same", "relu"), ((1, 2), "same", "sigmoid")])
def test_gradients(rng, s, pad, act):
    layer = layers.Conv2D(3, (3, 2), strides=s, padding=pad, activation=act, bias_initializer="random_normal")
    check_layer_grads(layer, rng.standard_normal((2, 5, 6, 2)).astype(np.float32), rng)


def test_weights_and_tensors(rng):
    layer = layers.Conv2D(4, 3, input_shape=(6, 6, 2), name="c1")
    y = layer(Tensor(rng.standard_normal((1, 6, 6, 2)).astype(np.float32)))
    assert isinstance(y, Tensor) and y.shape == (1, 4, 4, 4)
    assert [w.name for w in layer.weights] == ["c1/kernel", "c1/bias"]
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 4), (4,)]
    with pytest.raises(ValueError, match=r"c1: set_weights expected a list of 2 arrays"):
        layer.set_weights([np.zeros((3, 3, 2, 4))])


def test_config_round_trip(rng):
    layer = layers.Conv2D(5, (3, 2), strides=2, padding="same", activation="relu", input_shape=(8, 8, 3))
    cfg = json.loads(json.dumps(layer.get_config()))
    assert {k: cfg[k] for k in ("filters", "kernel_size", "strides", "padding", "data_format", "activation",
                                "use_bias", "kernel_initializer", "bias_initializer")} == {
        "filters": 5, "kernel_size": [3, 2], "strides": [2, 2], "padding": "same", "data_format": "channels_last",
        "activation": "relu", "use_bias": True, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None}, "registered_name": None},
        "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}}
    assert "input_shape" not in cfg  # as in Keras: a Sequential keeps it in its InputLayer entry
    cfg["name"] = "clone"
    clone = layers.Conv2D.from_config(cfg)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    layer(x), clone(x)
    clone.set_weights(layer.get_weights())
    assert_close(clone(x), layer(x))


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"conv2d\w*: expected input of rank 4 \(batch, height, width, channels\), "
                                         r"got shape \(28, 28, 1\)"):
        layers.Conv2D(4, 3)(np.zeros((28, 28, 1), np.float32))
    conv = layers.Conv2D(4, 3, name="c")
    conv(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"c: expected input with 3 channels \(last axis\), got shape \(1, 8, 8, 1\)"):
        conv(np.zeros((1, 8, 8, 1), np.float32))
    with pytest.raises(ValueError, match=r"c: kernel_size \(3, 3\) is larger than the input's spatial size \(2, 8\)"):
        conv(np.zeros((1, 2, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"conv2d\w*: kernel_size \(5, 5\) is larger than the input's spatial size \(4, 4\) with padding='valid'"):
        layers.Conv2D(2, 5)(np.zeros((1, 4, 4, 1), np.float32))
    layers.Conv2D(2, 5, padding="same")(np.zeros((1, 4, 4, 1), np.float32))  # fine with 'same'
    with pytest.raises(ValueError, match=r"conv2d\w*: padding must be 'valid' or 'same', got 'full'"):
        layers.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match=r"conv2d\w*: strides must be positive, got \(0, 1\)"):
        layers.Conv2D(2, 3, strides=(0, 1))
    with pytest.raises(ValueError, match=r"conv2d\w*: strides must be an int or a pair of ints, got \(1, 2, 3\)"):
        layers.Conv2D(2, 3, strides=(1, 2, 3))
    with pytest.raises(ValueError, match=r"conv2d\w*: kernel_size must be an int or a pair of ints, got 'x'"):
        layers.Conv2D(2, "x")
    with pytest.raises(ValueError, match=r"conv2d\w*: filters must be a positive integer, got -1"):
        layers.Conv2D(-1, 3)
    with pytest.raises(ValueError, match=r"conv2d\w*: only data_format='channels_last' is supported, got 'channels_first'"):
        layers.Conv2D(2, 3, data_format="channels_first")
    # dilation_rate and groups are implemented (tests/layers/test_conv_layers.py); their bad values still name the layer
    with pytest.raises(ValueError, match=r"conv2d\w*: strides > 1 not supported in conjunction with dilation_rate > 1"):
        layers.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"conv2d\w*: the number of filters must be evenly divisible by the number of groups"):
        layers.Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match=r"conv2d\w*: Unknown activation 'swishy'"):
        layers.Conv2D(2, 3, activation="swishy")

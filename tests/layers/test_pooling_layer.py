"""MaxPooling2D / AveragePooling2D: forward vs float64 numpy (TensorFlow's 'same': padding never
counts), gradients vs finite differences, config, errors."""
import json

import numpy as np
import pytest

from forgenet import layers
from forgenet.autograd import Tensor

from _layer_refs import check_layer_grads, pool_ref
from support import assert_close

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}  # Keras's dtype policy, as get_config writes it

CASES = [  # (N, H, W, C), pool_size, strides, padding
    ((1, 4, 4, 1), (2, 2), None, "valid"),
    ((2, 7, 5, 3), (2, 2), None, "valid"),
    ((2, 7, 5, 3), (2, 2), None, "same"),
    ((1, 9, 9, 2), 3, 2, "valid"),
    ((1, 9, 8, 2), 3, 2, "same"),
    ((2, 6, 6, 4), (3, 2), (1, 2), "same"),
    ((3, 5, 5, 1), 5, None, "valid"),
    ((1, 3, 3, 2), 4, 1, "same"),  # pool wider than the input is fine with 'same'
]
KINDS = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}


@pytest.mark.parametrize("shape,p,s,pad", CASES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_forward_matches_numpy(rng, shape, p, s, pad, kind):
    layer = KINDS[kind](pool_size=p, strides=s, padding=pad)
    x = rng.standard_normal(shape).astype(np.float32)
    y = layer(x)
    ref = pool_ref(x, layer.pool_size, layer.strides, pad, kind)
    assert_close(y, ref, what=f"{kind} {shape} p={p} s={s} {pad}")
    assert layer.compute_output_shape(shape) == y.shape
    assert layer.get_weights() == []


@pytest.mark.parametrize("p,s,pad", [((2, 2), None, "valid"), (3, 2, "same"), ((2, 3), 1, "valid")])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gradients(rng, kind, p, s, pad):
    x = rng.permutation(2 * 5 * 6 * 2).reshape(2, 5, 6, 2).astype(np.float32) * 0.1  # distinct: no max ties
    check_layer_grads(KINDS[kind](p, s, pad), x, rng)


def test_defaults_and_config():
    layer = layers.MaxPooling2D(input_shape=(28, 28, 1))
    assert (layer.pool_size, layer.strides, layer.padding) == ((2, 2), (2, 2), "valid")
    assert layer.name.startswith("max_pooling2d")
    cfg = json.loads(json.dumps(layers.AveragePooling2D(3, 1, "same", name="p").get_config()))
    assert cfg == {"name": "p", "trainable": True, "dtype": DTYPE, "pool_size": [3, 3], "strides": [1, 1], "padding": "same",
                   "data_format": "channels_last"}
    clone = layers.AveragePooling2D.from_config(cfg)
    assert (clone.pool_size, clone.strides, clone.padding) == ((3, 3), (1, 1), "same")
    y = layers.AveragePooling2D()(Tensor(np.ones((1, 4, 4, 1), np.float32)))
    assert isinstance(y, Tensor) and y.shape == (1, 2, 2, 1)


@pytest.mark.parametrize("cls,word", [(layers.MaxPooling2D, "max_pooling2d"), (layers.AveragePooling2D, "average_pooling2d")])
def test_errors_name_the_layer(cls, word):
    with pytest.raises(ValueError, match=word + r"\w*: expected input of rank 4 \(batch, height, width, channels\), got shape \(4, 4, 1\)"):
        cls()(np.zeros((4, 4, 1), np.float32))
    with pytest.raises(ValueError, match=word + r"\w*: pool_size \(3, 3\) is larger than the input's spatial size \(2, 5\)"):
        cls(3)(np.zeros((1, 2, 5, 1), np.float32))
    with pytest.raises(ValueError, match=word + r"\w*: padding must be 'valid' or 'same', got 'causal'"):
        cls(padding="causal")
    with pytest.raises(ValueError, match=word + r"\w*: strides must be positive, got \(1, -1\)"):
        cls(strides=(1, -1))
    with pytest.raises(ValueError, match=word + r"\w*: pool_size must be an int or a pair of ints, got \(2.5, 2\)"):
        cls(pool_size=(2.5, 2))
    with pytest.raises(ValueError, match=word + r"\w*: only data_format='channels_last' is supported"):
        cls(data_format="channels_first")
    layer = cls(2, name="pp")
    layer(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"pp: expected input of rank 4"):
        layer(np.zeros((1, 4, 4), np.float32))

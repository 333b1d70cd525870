"""Weights move between Keras 3 and forgenet unchanged: each layer type, and the article's MNIST CNN
(and Keras's MNIST convnet example) as a stack of layers, built in both libraries with Keras's weights
copied over by get_weights/set_weights, give the same outputs (and, through the torch backend's
autograd, the same gradients)."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import; torch CPU is the reference peer

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
# keras-on-torch calls np.array(torch_tensor, copy=False), which torch answers with a DeprecationWarning
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from forgenet import layers  # noqa: E402
from forgenet.autograd import Tensor, Variable  # noqa: E402

from _layer_refs import pool_ref, same_pads  # noqa: E402
from support import assert_close  # noqa: E402


def copy_and_compare(klayer, flayer, x, atol=1e-5):
    ky = keras.ops.convert_to_numpy(klayer(x))
    flayer(x)  # builds
    kw = klayer.get_weights()
    assert [w.shape for w in flayer.get_weights()] == [w.shape for w in kw]
    flayer.set_weights(kw)
    assert_close(flayer(x), ky, rtol=1e-4, atol=atol, what=klayer.name)
    # our config speaks Keras: every key we write is one Keras writes
    ours = set(flayer.get_config()) - {"input_shape"}
    assert ours <= set(klayer.get_config()), ours - set(klayer.get_config())


@pytest.mark.parametrize("shape,units,act", [((4, 7), 5, None), ((3, 6), 10, "softmax"), ((2, 3, 8), 4, "relu"),
                                             ((5, 16), 3, "gelu")])
def test_dense(rng, shape, units, act):
    x = rng.standard_normal(shape).astype(np.float32)
    copy_and_compare(keras.layers.Dense(units, activation=act, bias_initializer="random_normal"),
                     layers.Dense(units, activation=act), x)


@pytest.mark.parametrize("filters,k,s,pad,act", [(4, 3, 1, "valid", None), (6, 3, 2, "same", "relu"),
                                                 (3, (3, 2), (2, 1), "same", "tanh"), (5, 4, 3, "valid", None),
                                                 (2, 5, 2, "same", None)])
def test_conv2d(rng, filters, k, s, pad, act):
    x = rng.standard_normal((2, 11, 10, 3)).astype(np.float32)
    copy_and_compare(keras.layers.Conv2D(filters, k, strides=s, padding=pad, activation=act, bias_initializer="random_normal"),
                     layers.Conv2D(filters, k, strides=s, padding=pad, activation=act), x)


@pytest.mark.parametrize("p,s,pad", [((2, 2), None, "valid"), (3, 2, "same"), ((2, 3), 1, "same"), (3, None, "valid"),
                                     (3, 1, "same"), (2, 2, "same")])
@pytest.mark.parametrize("kind", ["MaxPooling2D", "AveragePooling2D"])
def test_pooling(rng, kind, p, s, pad):
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    klayer, flayer = getattr(keras.layers, kind)(p, s, pad), getattr(layers, kind)(p, s, pad)
    pads = [same_pads(n, k, st)[1:] for n, k, st in zip(x.shape[1:3], flayer.pool_size, flayer.strides)]
    if kind == "AveragePooling2D" and pad == "same" and any(a != b for a, b in pads):
        # Keras's torch backend pads unevenly split 'same' windows by replicating edge values, unlike
        # TensorFlow and JAX, which leave padding out of the mean (keras-team/keras#18452, #23233);
        # we follow TensorFlow, so here the reference is TensorFlow's rule.
        assert_close(flayer(x), pool_ref(x, flayer.pool_size, flayer.strides, "same", "avg"))
        return
    copy_and_compare(klayer, flayer, x)


@pytest.mark.parametrize("act", ["gelu", "softmax", "relu", "sigmoid", "tanh", "linear"])
def test_activation(rng, act):
    x = (rng.standard_normal((3, 4, 6)) * 3).astype(np.float32)
    copy_and_compare(keras.layers.Activation(act), layers.Activation(act), x)


def test_flatten_reshape_dropout(rng):
    x = rng.standard_normal((3, 4, 5, 2)).astype(np.float32)
    copy_and_compare(keras.layers.Flatten(), layers.Flatten(), x)
    copy_and_compare(keras.layers.Reshape((10, -1)), layers.Reshape((10, -1)), x)
    copy_and_compare(keras.layers.Dropout(0.5), layers.Dropout(0.5), x)  # inference: identity in both


def article_cnn(L):
    """The article's CNN (forgenet.examples.mnist_cnn)."""
    return [L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
            L.Flatten(), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")]


def keras_example_convnet(L):
    """Keras's "Simple MNIST convnet" example (Dropout instead of the hidden Dense)."""
    return [L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
            L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")]


@pytest.mark.parametrize("stack", [article_cnn, keras_example_convnet])
def test_mnist_cnn_forward_and_gradients(rng, stack):
    x = rng.random((4, 28, 28, 1)).astype(np.float32)
    ks, fs = stack(keras.layers), stack(layers)
    kmodel = keras.Sequential([keras.Input((28, 28, 1))] + ks)
    h = x
    for f in fs:  # builds
        h = f(h)
    for k, f in zip(ks, fs):
        f.set_weights(k.get_weights())
    h = x
    for f in fs:
        h = f(h)
    assert h.shape == (4, 10)
    assert_close(h, keras.ops.convert_to_numpy(kmodel(x)), atol=1e-6, what="probabilities")

    # gradients of sum(probs * w) w.r.t. every weight and the input, torch autograd as the reference
    w = rng.standard_normal((4, 10)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    (kmodel(xt, training=False) * torch.tensor(w)).sum().backward()
    xf = Variable(x)
    h = xf
    for f in fs:
        h = f(h, training=False)
    (h * Tensor(w)).sum().backward()
    assert_close(xf.grad, xt.grad.numpy(), atol=1e-5, what="d/dx")
    for k, f in zip(ks, fs):
        for kw, fw in zip(k.trainable_weights, f.trainable_weights):
            assert_close(fw.grad, kw.value.grad.numpy(), atol=1e-5, what=fw.name)

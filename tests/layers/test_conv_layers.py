"""Convolution, pooling and reshaping layers against Keras 3 (torch backend) with the same weights:
forward outputs and the gradients for the input and every weight; get_config round trips; bad arguments."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import; torch CPU is the reference peer

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import forgenet.layers as L  # noqa: E402
from forgenet.autograd import Variable  # noqa: E402

from _keras_parity import config_round_trip, parity  # noqa: E402

R = np.random.default_rng(7)
X1 = R.standard_normal((2, 11, 6)).astype(np.float32)
X2 = R.standard_normal((2, 9, 8, 6)).astype(np.float32)

CONV = [
    ("Conv1D", dict(filters=4, kernel_size=3), X1),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), X1),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="same", strides=2, groups=2, activation="relu"), X1),
    ("Conv2D", dict(filters=6, kernel_size=3, dilation_rate=2, padding="same"), X2),
    ("Conv2D", dict(filters=6, kernel_size=(3, 2), groups=3, activation="relu"), X2),
    ("Conv2D", dict(filters=4, kernel_size=2, dilation_rate=(1, 3)), X2),
    ("Conv2DTranspose", dict(filters=5, kernel_size=3, strides=2), X2),
    ("Conv2DTranspose", dict(filters=5, kernel_size=2, strides=2, padding="same"), X2),
    ("Conv2DTranspose", dict(filters=5, kernel_size=3, padding="same", activation="tanh"), X2),
    ("Conv2DTranspose", dict(filters=3, kernel_size=(1, 3), strides=(3, 1), use_bias=False), X2),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, output_padding=1), X2),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=(2, 3), padding="same", output_padding=(1, 0)), X2),
    ("Conv2DTranspose", dict(filters=4, kernel_size=(2, 4), strides=3, padding="same", output_padding=(2, 1)), X2),
    ("Conv2DTranspose", dict(filters=4, kernel_size=(1, 2), strides=2, padding="same", output_padding=0), X2),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, dilation_rate=2), X2),
    ("Conv2DTranspose", dict(filters=3, kernel_size=(2, 3), dilation_rate=(2, 1), padding="same"), X2),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, dilation_rate=(1, 3), padding="same", output_padding=0), X2),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, padding="same", strides=2), X2),
    ("DepthwiseConv2D", dict(kernel_size=3, dilation_rate=2), X2),
    ("SeparableConv2D", dict(filters=7, kernel_size=3, depth_multiplier=2, padding="same"), X2),
    ("SeparableConv2D", dict(filters=3, kernel_size=(2, 3), strides=2, activation="relu"), X2),
]

SHAPE_LAYERS = [
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), X1),
    ("AveragePooling1D", dict(pool_size=2), X1),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="valid"), X1),
    ("GlobalAveragePooling1D", dict(), X1),
    ("GlobalAveragePooling1D", dict(keepdims=True), X1),
    ("GlobalMaxPooling1D", dict(), X1),
    ("GlobalMaxPooling1D", dict(keepdims=True), X1),
    ("GlobalAveragePooling2D", dict(keepdims=True), X2),
    ("GlobalMaxPooling2D", dict(), X2),
    ("UpSampling1D", dict(size=3), X1),
    ("UpSampling2D", dict(size=(2, 3)), X2),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), X2),
    ("UpSampling2D", dict(size=(3, 1), interpolation="bilinear"), X2),
    ("ZeroPadding1D", dict(padding=(1, 2)), X1),
    ("ZeroPadding2D", dict(padding=((1, 0), (2, 3))), X2),
    ("ZeroPadding2D", dict(padding=2), X2),
    ("Cropping1D", dict(cropping=(2, 1)), X1),
    ("Cropping2D", dict(cropping=((1, 2), 1)), X2),
    ("RepeatVector", dict(n=3), X1[:, 0]),
    ("Permute", dict(dims=(3, 1, 2)), X2),
]


def _ids(cases):
    return [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw, _ in cases]


@pytest.mark.parametrize("name,kwargs,x", CONV + SHAPE_LAYERS, ids=_ids(CONV + SHAPE_LAYERS))
def test_keras_parity_and_config(name, kwargs, x):
    ours, theirs = getattr(L, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    theirs(x)
    if theirs.weights:  # non-zero biases, so their gradients and placement are checked too
        theirs.set_weights([w + R.uniform(0.1, 0.5, w.shape).astype(np.float32) for w in theirs.get_weights()])
    parity(ours, theirs, x, training=None, rtol=1e-4, atol=1e-4)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))
    config_round_trip(ours, x)


def test_global_average_pooling_1d_mask():
    mask = np.array([[1] * 5 + [0] * 6, [1] * 11], bool)
    parity(L.GlobalAveragePooling1D(), keras.layers.GlobalAveragePooling1D(), X1, training=None, mask=mask)


def test_conv_weight_names_follow_keras():
    sep = L.SeparableConv2D(4, 3)
    sep(X2)
    assert [w.name.split("/")[-1] for w in sep.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    dw = L.DepthwiseConv2D(3, depth_multiplier=2)
    dw(X2)
    assert [w.name.split("/")[-1] for w in dw.weights] == ["kernel", "bias"]
    assert dw.weights[0].shape == (3, 3, 6, 2) and dw.weights[1].shape == (12,)


def test_depthwise_trains_in_a_model_step():
    layer = L.DepthwiseConv2D(3, padding="same")
    x = Variable(X2.copy())
    y = layer(x)
    (y * y).sum().backward()
    assert x.grad.shape == X2.shape and np.abs(layer.kernel.grad).sum() > 0


@pytest.mark.parametrize("make, match", [
    (lambda: L.Conv2D(4, 3, strides=2, dilation_rate=2), "strides > 1 not supported in conjunction with dilation"),
    (lambda: L.Conv2D(5, 3, groups=2), "filters must be evenly divisible by the number of groups"),
    (lambda: L.Conv1D(4, 3, padding="full"), "padding must be 'valid' or 'same'"),
    (lambda: L.Conv2D(4, 3, padding="causal"), "padding must be 'valid' or 'same'"),
    (lambda: L.Conv2D(4, 3, lora_rank=2), "lora_rank is not supported yet"),
    (lambda: L.Conv2DTranspose(4, 3, output_padding=1), "output_padding must be strictly less than strides"),
    (lambda: L.Conv2DTranspose(4, 3, strides=2, output_padding=-1), "output_padding must be >= 0"),
    (lambda: L.Conv2DTranspose(4, 3, strides=2, dilation_rate=2), "strides > 1 not supported"),
    (lambda: L.UpSampling2D(interpolation="bicubic"), "interpolation must be 'nearest' or 'bilinear'"),
    (lambda: L.ZeroPadding2D(padding=(1, 2, 3)), "padding must be an int"),
    (lambda: L.Permute((1, 3)), "invalid permutation"),
])
def test_bad_arguments(make, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        make()


@pytest.mark.parametrize("conv, shape", [("Conv1D", (2, 7, 3)), ("Conv2D", (2, 6, 6, 3))])
def test_conv_kernel_regularizer_adds_keras_penalty(conv, shape):
    """Conv layers take Keras's weight options: the penalty reaches model.losses with Keras's value."""
    import forgenet
    from forgenet import regularizers

    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    k = getattr(keras.layers, conv)(4, 3, kernel_regularizer=keras.regularizers.L2(0.1),
                                     bias_regularizer=keras.regularizers.L1(0.2))
    k(x)
    m = forgenet.Sequential([getattr(L, conv)(4, 3, kernel_regularizer=regularizers.L2(0.1),
                                              bias_regularizer=regularizers.L1(0.2))])
    m(x)
    k.set_weights([w + 0.5 for w in k.get_weights()])  # a non-zero bias, so both penalties count
    m.set_weights(k.get_weights())
    assert len(m.losses) == 2
    want = sum(float(keras.ops.convert_to_numpy(v)) for v in k.losses)
    np.testing.assert_allclose(sum(float(np.asarray(getattr(v, "data", v))) for v in m.losses), want, rtol=1e-5)


def test_bad_inputs():
    with pytest.raises(ValueError, match="number of input channels must be evenly divisible by the number of groups"):
        L.Conv2D(4, 3, groups=4)(X2)
    with pytest.raises(ValueError, match="expected input of rank 3"):
        L.Conv1D(4, 3)(X2)
    with pytest.raises(ValueError, match="larger than the input"):
        L.Conv1D(4, 20)(X1)
    with pytest.raises(ValueError, match="leaves nothing"):
        L.Cropping1D((6, 5))(X1)


def test_average_pooling_1d_same_excludes_padding_as_tensorflow():
    # Keras's torch backend counts the padded step here; TensorFlow (and our 2-D pooling) does not
    from _layer_refs import pool_ref

    y = L.AveragePooling1D(3, padding="same")(X1)
    want = pool_ref(X1[:, None], (1, 3), (1, 3), "same", "avg")[:, 0]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)

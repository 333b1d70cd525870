"""BatchNormalization, GroupNormalization, UnitNormalization against Keras 3 (torch backend) with the
same weights, moving statistics over several training calls, Keras 3's frozen behaviour, and the
training-only noise layers (SpatialDropout, GaussianNoise, GaussianDropout, AlphaDropout)."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import; torch CPU is the reference peer

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import forgenet  # noqa: E402
import forgenet.layers as L  # noqa: E402
from forgenet.autograd import Tensor, Variable  # noqa: E402

from _keras_parity import config_round_trip, parity  # noqa: E402
from support import assert_close  # noqa: E402

R = np.random.default_rng(3)
X4 = (R.standard_normal((4, 5, 6, 6)) * 2 + 1).astype(np.float32)


def _perturbed(klayer, x):
    klayer(x)
    klayer.set_weights([w + R.uniform(0.1, 0.5, w.shape).astype(np.float32) for w in klayer.get_weights()])


@pytest.mark.parametrize("kwargs", [{}, {"axis": 1}, {"center": False}, {"scale": False, "momentum": 0.9},
                                    {"axis": 2, "epsilon": 1e-5}])
def test_batch_norm_matches_keras_training_and_inference(kwargs):
    ours, theirs = L.BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    _perturbed(theirs, X4)
    for step in range(3):  # moving statistics follow Keras's momentum update call after call
        x = X4 + step
        parity(ours, theirs, x, training=True, rtol=1e-4, atol=1e-4)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            assert_close(a, b, rtol=1e-5, atol=1e-5, what="weights after a training call")
    parity(ours, theirs, X4, training=False, rtol=1e-4, atol=1e-4)
    assert [w.name.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    config_round_trip(ours, X4)


def test_batch_norm_frozen_runs_in_inference_mode():
    ours, theirs = L.BatchNormalization(trainable=False), keras.layers.BatchNormalization(trainable=False)
    _perturbed(theirs, X4)
    before = [w.copy() for w in theirs.get_weights()]
    parity(ours, theirs, X4, training=True, rtol=1e-4, atol=1e-4)  # input gradients still flow
    assert ours.trainable_weights == []
    for a, b in zip(ours.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # moving statistics frozen


def test_batch_norm_mask_matches_keras():
    x = R.standard_normal((3, 7, 4)).astype(np.float32)
    mask = np.ones((3, 7), bool)
    mask[0, 4:] = mask[1, 2:] = False
    ours, theirs = L.BatchNormalization(), keras.layers.BatchNormalization()
    parity(ours, theirs, x, training=True, mask=mask, rtol=1e-4, atol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_batch_norm_in_a_cnn_trains_like_keras():
    """Conv2D -> BatchNormalization -> ReLU -> GlobalAveragePooling2D -> Dense, three SGD steps."""
    x = R.standard_normal((8, 6, 6, 3)).astype(np.float32)
    y = R.standard_normal((8, 2)).astype(np.float32)
    ours = [L.Conv2D(4, 3), L.BatchNormalization(), L.ReLU(), L.GlobalAveragePooling2D(), L.Dense(2)]
    theirs = [keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(), keras.layers.ReLU(),
              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)]
    km = keras.Sequential(theirs)
    km(x)
    h = x
    for o, t in zip(ours, theirs):
        o(h)
        o.set_weights(t.get_weights())
        h = o(h)
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    for _ in range(3):
        km.train_on_batch(x, y)
        h = Tensor(x)
        for o in ours:
            h = o(h, training=True)
        loss = ((h - y) * (h - y)).mean()
        loss.backward()
        for o in ours:
            for w in o.trainable_weights:
                w.data -= 0.1 * w.grad
                w.grad = None
    for o, t in zip(ours, theirs):
        for a, b in zip(o.get_weights(), t.get_weights()):
            assert_close(a, b, rtol=1e-3, atol=1e-4, what=o.name)


@pytest.mark.parametrize("kwargs,shape", [({"groups": 2}, (4, 5, 6, 6)), ({"groups": -1}, (2, 7, 6)),
                                          ({"groups": 3, "axis": 1}, (2, 6, 4, 5)),
                                          ({"groups": 1, "center": False}, (3, 8))])
def test_group_norm_matches_keras(kwargs, shape):
    x = (R.standard_normal(shape) * 3 + 2).astype(np.float32)
    ours, theirs = L.GroupNormalization(**kwargs), keras.layers.GroupNormalization(**kwargs)
    _perturbed(theirs, x)
    parity(ours, theirs, x, training=None, rtol=1e-4, atol=1e-4)
    config_round_trip(ours, x)


@pytest.mark.parametrize("kwargs", [{}, {"axis": [1, 2]}, {"axis": 1}])
def test_unit_norm_matches_keras(kwargs):
    parity(L.UnitNormalization(**kwargs), keras.layers.UnitNormalization(**kwargs), X4, training=None)
    config_round_trip(L.UnitNormalization(**kwargs))


def test_normalization_bad_arguments():
    with pytest.raises(ValueError, match="groups .* must be a multiple of the number of channels"):
        L.GroupNormalization(groups=4)(X4)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        L.GroupNormalization(groups=0)
    with pytest.raises(NotImplementedError, match="renorm=True"):
        L.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="synchronized=True is only supported"):
        L.BatchNormalization(synchronized=True)
    with pytest.raises(ValueError, match="axis 4 is out of range"):
        L.BatchNormalization(axis=4)(X4)
    with pytest.raises(NotImplementedError, match="renorm_clipping is not supported yet"):
        L.BatchNormalization(renorm_clipping={"rmax": 2.0})


# ---- noise layers ----------------------------------------------------------------------------------
NOISE = [(L.SpatialDropout1D, dict(rate=0.5), (4, 9, 16)), (L.SpatialDropout2D, dict(rate=0.4), (4, 5, 5, 16)),
         (L.GaussianNoise, dict(stddev=0.3), (64, 32)), (L.GaussianDropout, dict(rate=0.3), (64, 32)),
         (L.AlphaDropout, dict(rate=0.2), (64, 32))]


@pytest.mark.parametrize("cls,kwargs,shape", NOISE)
def test_noise_only_in_training_and_seeded(cls, kwargs, shape):
    x = R.standard_normal(shape).astype(np.float32)
    layer = cls(**kwargs, seed=5)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    a = cls(**kwargs, seed=5)(x, training=True)
    b = cls(**kwargs, seed=5)(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    forgenet.utils.set_random_seed(9)
    c = cls(**kwargs)(x, training=True)
    forgenet.utils.set_random_seed(9)
    np.testing.assert_array_equal(cls(**kwargs)(x, training=True), c)
    config_round_trip(layer)
    xv = Variable(x.copy())  # gradients flow through the noise (the mask or the scale)
    layer(xv, training=True).sum().backward()
    assert xv.grad.shape == x.shape


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((8, 5, 5, 32), np.float32)
    y = L.SpatialDropout2D(0.5, seed=1)(x, training=True)
    per_map = y.reshape(8, 25, 32)
    assert np.all((per_map == 0).all(axis=1) | (per_map == 2.0).all(axis=1))
    assert 0.3 < (per_map[:, 0] == 0).mean() < 0.7


def test_noise_statistics():
    x = np.ones((400, 500), np.float32)
    n = L.GaussianNoise(0.5, seed=2)(x, training=True) - 1
    assert abs(n.mean()) < 0.01 and abs(n.std() - 0.5) < 0.01
    g = L.GaussianDropout(0.2, seed=2)(x, training=True)
    assert abs(g.mean() - 1) < 0.01 and abs(g.std() - np.sqrt(0.2 / 0.8)) < 0.01
    # AlphaDropout keeps zero mean and unit variance for standardised (SELU-regime) inputs
    z = np.random.default_rng(0).standard_normal((400, 500)).astype(np.float32)
    a = L.AlphaDropout(0.3, seed=2)(z, training=True)
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.03

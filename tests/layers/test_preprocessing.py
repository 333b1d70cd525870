"""Preprocessing layers: against Keras 3 (torch backend) where Keras runs without TensorFlow
(Rescaling, Normalization, CategoryEncoding, Resizing, CenterCrop, RandomFlip), and against the
results documented in Keras's docstrings for the lookup layers (which need TensorFlow in Keras)."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import; torch CPU is the reference peer

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import forgenet.layers as L  # noqa: E402
from forgenet.autograd import Variable  # noqa: E402

from _keras_parity import config_round_trip, parity  # noqa: E402

R = np.random.default_rng(5)
IMG = R.uniform(0, 255, (2, 9, 12, 3)).astype(np.float32)


def knp(x):
    return keras.ops.convert_to_numpy(x)


def test_rescaling_matches_keras():
    parity(L.Rescaling(1 / 255.0, offset=-0.5), keras.layers.Rescaling(1 / 255.0, offset=-0.5), IMG, training=None)
    config_round_trip(L.Rescaling(2.0))


@pytest.mark.parametrize("axis", [-1, None, (1, 2)])
def test_normalization_adapt_matches_keras(axis):
    data = (R.standard_normal((40, 4, 3)) * 3 + 5).astype(np.float32)
    ours, theirs = L.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
    ours.adapt(data)
    theirs.adapt(data)
    x = R.standard_normal((5, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(x), knp(theirs(x)), rtol=1e-4, atol=1e-4)
    batches = [data[:13], data[13:]]  # an iterable of batches gives the same statistics
    two = L.Normalization(axis=axis)
    two.adapt(batches)
    np.testing.assert_allclose(two(x), ours(x), rtol=1e-5, atol=1e-5)
    inv = L.Normalization(axis=axis, invert=True)
    inv.adapt(data)
    np.testing.assert_allclose(inv(ours(x)), x, rtol=1e-4, atol=1e-4)


def test_normalization_given_statistics_and_gradient():
    layer = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])
    np.testing.assert_allclose(layer(np.array([[3.0, 5.0]], np.float32)), [[1.0, 1.0]])
    xv = Variable(np.ones((2, 2), np.float32))
    layer(xv).sum().backward()
    np.testing.assert_allclose(xv.grad, [[0.5, 1 / 3]] * 2, rtol=1e-6)
    config_round_trip(layer)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("ids", [np.array([3, 2, 0, 1]), np.array([[0, 1], [0, 0], [1, 2], [3, 1]])])
def test_category_encoding_matches_keras(mode, ids):
    ours, theirs = L.CategoryEncoding(num_tokens=4, output_mode=mode), \
        keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    np.testing.assert_array_equal(ours(ids), knp(theirs(ids)))
    if mode == "count" and ids.ndim == 2:
        w = R.uniform(size=ids.shape).astype(np.float32)
        np.testing.assert_allclose(ours(ids, count_weights=w), knp(theirs(ids, count_weights=w)), rtol=1e-6)
    with pytest.raises(ValueError, match="num_tokens=4"):
        ours(np.array([4]))


@pytest.mark.parametrize("kwargs", [dict(height=5, width=7), dict(height=18, width=24), dict(height=4, width=4,
                                    interpolation="nearest"), dict(height=6, width=6, crop_to_aspect_ratio=True),
                                    dict(height=20, width=11, interpolation="nearest")])
def test_resizing_matches_keras(kwargs):
    parity(L.Resizing(**kwargs), keras.layers.Resizing(**kwargs), IMG, training=None, grads=False, rtol=1e-4,
           atol=1e-3)
    np.testing.assert_allclose(L.Resizing(**kwargs)(IMG[0]), knp(keras.layers.Resizing(**kwargs)(IMG[0])),
                               rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("hw", [(5, 7), (8, 12), (9, 3)])
def test_center_crop_matches_keras(hw):
    parity(L.CenterCrop(*hw), keras.layers.CenterCrop(*hw), IMG, training=None, grads=False)


def test_random_flip_only_in_training_and_seeded():
    layer = L.RandomFlip(seed=3)
    np.testing.assert_array_equal(layer(IMG), IMG)
    a, b = L.RandomFlip(seed=3)(IMG, training=True), L.RandomFlip(seed=3)(IMG, training=True)
    np.testing.assert_array_equal(a, b)
    flips = {IMG[i, ::v, ::h].tobytes() for i in range(2) for v in (1, -1) for h in (1, -1)}
    assert all(a[i].tobytes() in {IMG[i, ::v, ::h].tobytes() for v in (1, -1) for h in (1, -1)} for i in range(2))
    assert flips
    h = L.RandomFlip("horizontal", seed=0)(np.repeat(IMG[:1], 16, 0), training=True)
    assert all(np.array_equal(h[i], IMG[0]) or np.array_equal(h[i], IMG[0, :, ::-1]) for i in range(16))
    config_round_trip(layer)


# ---- lookup layers: the examples of Keras's docstrings --------------------------------------------
def test_string_lookup_vocabulary_and_modes():
    vocab = ["a", "b", "c", "d"]
    data = np.array([["a", "c", "d"], ["d", "z", "b"]])
    layer = L.StringLookup(vocabulary=vocab)
    np.testing.assert_array_equal(layer(data), [[1, 3, 4], [4, 0, 2]])
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c", "d"]
    np.testing.assert_array_equal(L.StringLookup(vocabulary=vocab, output_mode="one_hot")(np.array(["a", "b", "c",
                                                                                                   "d", "z"])),
                                  np.eye(5)[[1, 2, 3, 4, 0]])
    np.testing.assert_array_equal(L.StringLookup(vocabulary=vocab, output_mode="multi_hot")(np.array(
        [["a", "c", "d", "d"], ["d", "z", "b", "z"]])), [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    np.testing.assert_array_equal(L.StringLookup(vocabulary=vocab, output_mode="count")(np.array(
        [["a", "c", "d", "d"], ["d", "z", "b", "z"]])), [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    tfidf = L.StringLookup(output_mode="tf_idf", vocabulary=vocab, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tfidf(np.array([["a", "c", "d", "d"], ["d", "z", "b", "z"]])),
                               [[0.0, 0.25, 0.0, 0.6, 0.8], [1.0, 0.0, 0.75, 0.0, 0.4]], rtol=1e-6)
    inverse = L.StringLookup(vocabulary=vocab, invert=True)
    assert inverse(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    masked = L.StringLookup(vocabulary=vocab, mask_token="")
    np.testing.assert_array_equal(masked(np.array([["a", "", "d"]])), [[2, 0, 5]])
    dropped = L.StringLookup(vocabulary=vocab, mask_token="", output_mode="multi_hot")  # the mask is dropped
    np.testing.assert_array_equal(dropped(np.array([["a", "", "d"]])), [[0, 1, 0, 0, 1]])


def test_string_lookup_adapt_orders_by_frequency():
    layer = L.StringLookup()
    layer.adapt(np.array([["a", "c", "d"], ["d", "c", "b"], ["d", "e", "e"]]))
    # d x3, then c and e x2 (Keras breaks ties with the larger token first), then b and a x1
    assert layer.get_vocabulary() == ["[UNK]", "d", "e", "c", "b", "a"]
    small = L.StringLookup(max_tokens=3)
    small.adapt(np.array(["x", "y", "y", "z", "z", "z"]))
    assert small.get_vocabulary() == ["[UNK]", "z", "y"]
    config_round_trip(L.StringLookup(vocabulary=["a", "b"]))


def test_integer_lookup():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer = L.IntegerLookup(vocabulary=vocab)
    np.testing.assert_array_equal(layer(data), [[1, 3, 4], [4, 0, 2]])
    assert layer.get_vocabulary() == [-1, 12, 36, 1138, 42]
    adapted = L.IntegerLookup()
    adapted.adapt(np.array([[12, 1138, 42], [42, 1000, 36]]))
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    inv = L.IntegerLookup(vocabulary=vocab, invert=True)
    np.testing.assert_array_equal(inv(np.array([[1, 3, 4], [4, 0, 2]])), [[12, 1138, 42], [42, -1, 36]])


def test_text_vectorization():
    layer = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(np.array(["foo bar", "bar baz", "baz bada boom"]))
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    np.testing.assert_array_equal(layer(np.array([["foo qux bar"], ["qux baz"]])), [[4, 1, 3, 0], [1, 2, 0, 0]])
    given = L.TextVectorization(output_mode="int", vocabulary=["earth", "wind", "and", "fire"])
    np.testing.assert_array_equal(given(np.array(["Earth, wind and FIRE!", "the wind"])), [[2, 3, 4, 5], [1, 3, 0, 0]])
    mh = L.TextVectorization(output_mode="multi_hot", vocabulary=["earth", "wind", "and", "fire"])
    np.testing.assert_array_equal(mh(np.array(["earth earth wind x"])), [[1, 1, 1, 0, 0]])
    counts = L.TextVectorization(output_mode="count", ngrams=2, vocabulary=["a", "b", "a b"])
    np.testing.assert_array_equal(counts(np.array(["a b a b c"])), [[3, 2, 2, 2]])  # c, "b a", "b c" are OOV
    tfidf = L.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(np.array(["a a b", "a c"]))
    idf = np.log(1 + 2 / (1 + np.array([2, 1, 1])))  # a in 2 docs, b and c in 1
    vocab = tfidf.get_vocabulary()
    out = tfidf(np.array(["a a z"]))[0]
    assert vocab[:2] == ["[UNK]", "a"]  # no mask token outside 'int' mode, as Keras
    np.testing.assert_allclose(out[1], 2 * idf[0], rtol=1e-6)
    np.testing.assert_allclose(out[0], idf.mean(), rtol=1e-6)  # the OOV slot: the mean idf, as Keras
    config_round_trip(given)


def test_preprocessing_bad_arguments():
    with pytest.raises(ValueError, match="output_mode must be one of"):
        L.StringLookup(output_mode="binary")
    with pytest.raises(ValueError, match="num_oov_indices must be an int >= 0"):
        L.StringLookup(num_oov_indices=-1)
    with pytest.raises(NotImplementedError, match="salt .* is not supported yet"):
        L.StringLookup(num_oov_indices=2, salt=7)
    with pytest.raises(ValueError, match="num_tokens must be a positive integer"):
        L.CategoryEncoding()
    with pytest.raises(ValueError, match="repeated tokens"):
        L.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="both mean and variance must be set"):
        L.Normalization(mean=[1.0])


# ---- random affine layers: the same transformation through Keras and through us --------------------
AFFINE = [("RandomRotation", dict(factor=0.2)), ("RandomTranslation", dict(height_factor=0.3, width_factor=0.2)),
          ("RandomZoom", dict(height_factor=0.3, width_factor=(-0.2, 0.4))), ("RandomZoom", dict(height_factor=-0.4))]


@pytest.mark.parametrize("name,kwargs", AFFINE)
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_random_affine_transform_matches_keras(name, kwargs, fill_mode, interpolation):
    img = R.uniform(0, 1, (3, 9, 11, 2)).astype(np.float32)
    kw = dict(kwargs, fill_mode=fill_mode, interpolation=interpolation, fill_value=0.5, seed=1)
    theirs, ours = getattr(keras.layers, name)(**kw), getattr(L, name)(**kw)
    t = {k: knp(v) if hasattr(v, "shape") else v for k, v in theirs.get_random_transformation(img).items()}
    np.testing.assert_allclose(ours.transform_images(img, t), knp(theirs.transform_images(img, t)), atol=1e-5)
    np.testing.assert_array_equal(ours(img), img)  # identity outside training
    a, b = getattr(L, name)(**kw)(img, training=True), getattr(L, name)(**kw)(img, training=True)
    np.testing.assert_array_equal(a, b)  # seeded
    config_round_trip(ours)


def test_fill_modes_differ_and_rotation_matrix_is_keras():
    img = R.uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)
    outs = {m: L.RandomRotation(0.25, fill_mode=m, seed=0)(img, training=True) for m in
            ("reflect", "wrap", "constant", "nearest")}
    assert len({o.tobytes() for o in outs.values()}) == 4
    ours = L.RandomRotation(0.2, seed=3)
    m = ours.get_random_transformation(img)["rotation_matrix"]
    angle = np.degrees(np.arctan2(m[:, 3], m[:, 0]))
    theirs = keras.layers.RandomRotation(0.2)
    T = keras.ops.convert_to_tensor
    z = T(np.zeros(2, np.float32))
    want = theirs._compute_affine_matrix(0.5, 0.5, T(angle.astype(np.float32)), z, z, T(np.ones(2, np.float32)),
                                         z, z, 8, 8)
    np.testing.assert_allclose(m, knp(want), rtol=1e-5, atol=1e-5)

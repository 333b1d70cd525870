"""Several OOV indices in StringLookup / IntegerLookup, as Keras 3 assigns them: strings by FarmHash64
(TensorFlow's to_hash_bucket_fast), integers by floormod (or FarmHash64 of their decimal string with
oov_method="farmhash"). Keras's lookup layers need TensorFlow (absent here), so the hash is checked
against the FarmHash library itself and against TensorFlow's documented bucket values."""
import random

import numpy as np
import pytest

import forgenet.layers as L
from forgenet.layers.preprocessing.farmhash import fingerprint64, hash_bucket


def test_fingerprint64_matches_farmhash_on_every_length_path():
    farmhash = pytest.importorskip("farmhash")  # pyfarmhash: Google's C++ FarmHash
    rng = random.Random(0)
    for n in list(range(0, 140)) + [191, 192, 193, 1000]:  # 0-16, 17-32, 33-64 and the 64-byte loop
        data = bytes(rng.randrange(256) for _ in range(n))
        assert fingerprint64(data) == farmhash.fingerprint64(data), n


def test_tensorflow_documented_buckets():
    # tf.strings.to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3) -> [0, 2, 2] (TensorFlow's docs)
    assert [hash_bucket(s, 3) for s in ["Hello", "TensorFlow", "2.x"]] == [0, 2, 2]


def test_string_lookup_spreads_oov_tokens_over_their_indices():
    layer = L.StringLookup(vocabulary=["a", "b"], num_oov_indices=3)
    assert layer.get_vocabulary() == ["[UNK]"] * 3 + ["a", "b"]
    ids = np.asarray(layer(np.array(["a", "Hello", "TensorFlow", "2.x", "b"])))
    np.testing.assert_array_equal(ids, [3, 0, 2, 2, 4])
    masked = L.StringLookup(vocabulary=["a", "b"], num_oov_indices=3, mask_token="")
    np.testing.assert_array_equal(np.asarray(masked(np.array(["", "Hello", "2.x", "a"]))), [0, 1, 3, 4])
    hot = L.StringLookup(vocabulary=["a"], num_oov_indices=2, output_mode="multi_hot")
    want = np.zeros(3, np.float32)
    want[[hash_bucket("zz", 2), 2]] = 1.0
    np.testing.assert_array_equal(np.asarray(hot(np.array(["zz", "a"]))), want)
    back = L.StringLookup(vocabulary=["a", "b"], num_oov_indices=3, invert=True)
    assert list(back(np.array([0, 2, 3, 4]))) == ["[UNK]", "[UNK]", "a", "b"]


def test_integer_lookup_floormod_and_farmhash():
    layer = L.IntegerLookup(vocabulary=[10, 20], num_oov_indices=3)
    np.testing.assert_array_equal(np.asarray(layer(np.array([10, 7, -4, 20, 5]))), [3, 1, 2, 4, 2])  # floormod
    hashed = L.IntegerLookup(vocabulary=[10, 20], num_oov_indices=3, oov_method="farmhash")
    np.testing.assert_array_equal(np.asarray(hashed(np.array([7, 10, -4]))),
                                  [hash_bucket("7", 3), 3, hash_bucket("-4", 3)])
    cfg = hashed.get_config()
    assert (cfg["num_oov_indices"], cfg["oov_method"], cfg["salt"]) == (3, "farmhash", None)
    again = L.IntegerLookup.from_config(cfg)
    np.testing.assert_array_equal(np.asarray(again(np.array([7, 10, -4]))), np.asarray(hashed(np.array([7, 10, -4]))))


def test_bad_oov_options():
    with pytest.raises(ValueError, match="oov_method must be 'floormod' or 'farmhash'"):
        L.IntegerLookup(oov_method="mod")
    with pytest.raises(ValueError, match="salt can only be used when oov_method='farmhash'"):
        L.IntegerLookup(num_oov_indices=2, salt=1)
    with pytest.raises(NotImplementedError, match="salt"):
        L.IntegerLookup(num_oov_indices=2, oov_method="farmhash", salt=[1, 2])


def test_text_vectorization_one_hot_one_token_per_text():
    layer = L.TextVectorization(output_mode="one_hot", split=None, standardize="lower")
    layer.adapt(np.array(["Red", "green", "red", "blue", "red", "green"]))
    assert layer.get_vocabulary() == ["[UNK]", "red", "green", "blue"]  # no mask slot outside 'int' (Keras)
    out = np.asarray(layer(np.array(["RED", "blue", "teal", ""])))
    want = np.zeros((4, 4), np.float32)
    want[0, 1] = want[1, 3] = want[2, 0] = 1.0  # the empty text is the mask token: an all-zero row
    np.testing.assert_array_equal(out, want)
    with pytest.raises(NotImplementedError, match="output_mode='one_hot' is supported with split=None"):
        L.TextVectorization(output_mode="one_hot")

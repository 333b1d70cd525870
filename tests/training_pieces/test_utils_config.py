"""keras.utils helpers against Keras where Keras runs without TensorFlow (to_categorical, pad_sequences,
normalize), against explicit loops where Keras needs tf.data (timeseries_dataset_from_array, split_dataset);
plot_model's messages; the config/backend basics."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402
from forgenet import config, layers, utils  # noqa: E402


@pytest.mark.parametrize("x,n", [([0, 2, 1, 2], None), (np.array([[1], [0], [3]]), 5), (np.array([[0, 1], [2, 0]]), 3)])
def test_to_categorical(x, n):
    ours, theirs = utils.to_categorical(x, n), keras.utils.to_categorical(x, n)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="class ids must be in"):
        utils.to_categorical([0, 5], 3)


SEQS = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10]]


@pytest.mark.parametrize("kw", [{}, {"maxlen": 3}, {"padding": "post"}, {"truncating": "post", "maxlen": 2},
                                {"value": -1, "padding": "post", "maxlen": 6}, {"dtype": "float32", "value": 0.5}])
def test_pad_sequences(kw):
    ours, theirs = utils.pad_sequences(SEQS, **kw), keras.utils.pad_sequences(SEQS, **kw)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_pad_sequences_errors_and_nested():
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        utils.pad_sequences(SEQS, padding="middle")
    nested = [np.ones((2, 3)), np.ones((4, 3))]
    np.testing.assert_array_equal(utils.pad_sequences(nested, dtype="float32"),
                                  keras.utils.pad_sequences(nested, dtype="float32"))
    with pytest.raises(ValueError, match="Shape of sample"):
        utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


@pytest.mark.parametrize("axis,order", [(-1, 2), (1, 1), (-1, 3)])
def test_normalize(axis, order):
    x = np.random.default_rng(0).standard_normal((4, 5))
    x[1] = 0
    np.testing.assert_allclose(utils.normalize(x, axis, order), keras.utils.normalize(x, axis, order), rtol=1e-12)


def test_normalize_axis_0():  # keras.utils.normalize fails on axis=0 (`axis or -1`); ours normalises columns
    x = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_allclose(utils.normalize(x, 0), x / np.sqrt((x * x).sum(0, keepdims=True)), rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(sequence_length=5), dict(sequence_length=3, sequence_stride=2, sampling_rate=2),
                                dict(sequence_length=4, batch_size=3, start_index=2, end_index=17),
                                dict(sequence_length=2, batch_size=None), dict(sequence_length=4, shuffle=True, seed=1)])
def test_timeseries_windows(kw):
    data = np.arange(40).reshape(20, 2).astype(np.float32)
    targets = np.arange(100, 120)
    ds = utils.timeseries_dataset_from_array(data, targets, **{"batch_size": 4, **kw})
    L, s, r = kw["sequence_length"], kw.get("sequence_stride", 1), kw.get("sampling_rate", 1)
    start, end = kw.get("start_index", 0), kw.get("end_index", 20)
    expect = [(data[start + i + np.arange(L) * r], targets[start + i])
              for i in range(0, end - start - (L - 1) * r, s)]
    got = []
    for batch in ds:
        xb, yb = batch
        if kw.get("batch_size", 4) is None:
            xb, yb = xb[None], np.array([yb])
        got.extend(zip(xb, yb))
    assert len(got) == len(expect)
    key = (lambda p: int(p[1])) if kw.get("shuffle") else None
    got = sorted(got, key=key) if key else got
    for (gx, gy), (ex, ey) in zip(got, expect):
        np.testing.assert_array_equal(gx, ex)
        assert gy == ey
    assert len(ds) == (len(expect) if kw.get("batch_size", 4) is None else -(-len(expect) // kw.get("batch_size", 4)))
    no_targets = utils.timeseries_dataset_from_array(data, None, 3, batch_size=8)
    assert no_targets[0].shape == (8, 3, 2)


def test_timeseries_trains_a_model():
    data = np.sin(np.arange(200) / 5.0).astype(np.float32)[:, None]
    ds = utils.timeseries_dataset_from_array(data[:-10], data[10:, 0], sequence_length=10, batch_size=32)
    x = np.concatenate([b[0] for b in ds])
    y = np.concatenate([b[1] for b in ds])
    m = forgenet.Sequential([layers.Flatten(input_shape=(10, 1)), layers.Dense(1)])
    m.compile("adam", "mse")
    h = m.fit(x, y, epochs=3, verbose=0)
    assert np.isfinite(h.history["loss"][-1])


def test_split_dataset():
    x, y = np.arange(10), np.arange(10) * 2
    left, right = utils.split_dataset((x, y), left_size=0.8)
    assert isinstance(left, tuple) and len(left[0]) == 8 and len(right[1]) == 2
    np.testing.assert_array_equal(left[1], 2 * left[0])
    a, b = utils.split_dataset(x, right_size=3, shuffle=True, seed=0)
    assert len(a) == 7 and sorted(np.concatenate([a, b])) == list(range(10))
    d1, d2 = utils.split_dataset({"a": x, "b": y}, left_size=4, right_size=3)
    assert len(d1["a"]) == 4 and len(d2["b"]) == 3
    with pytest.raises(ValueError, match="at least one"):
        utils.split_dataset(x)
    with pytest.raises(ValueError, match="left_size"):
        utils.split_dataset(x, left_size=1.5)


def test_plot_model_says_what_is_missing(tmp_path):
    m = forgenet.Sequential([layers.Dense(2, input_shape=(3,))])
    try:
        import pydot  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pydot"):
            utils.plot_model(m, to_file=str(tmp_path / "m.png"))
        return
    dot = utils.plot_model(m, to_file=str(tmp_path / "m.dot"), show_shapes=True)
    assert (tmp_path / "m.dot").exists() and "dense" in dot.to_string()


def test_config_basics():
    assert forgenet.backend.backend() == "forgenet" and config.floatx() == "float32"
    assert config.epsilon() == 1e-7 and config.image_data_format() == "channels_last"
    config.set_floatx("float32")
    with pytest.raises(ValueError, match="float32 only"):
        config.set_floatx("float16")
    with pytest.raises(ValueError, match="channels_last"):
        config.set_image_data_format("channels_first")
    config.set_epsilon(1e-4)
    try:
        from forgenet import losses
        # the probabilities clip at the new epsilon: -log(1e-4), as Keras with set_epsilon(1e-4)
        v = float(losses.BinaryCrossentropy()(np.array([[1.0]]), np.array([[0.0]], np.float32)).data)
        assert v == pytest.approx(-np.log(1e-4), rel=1e-4)
    finally:
        config.set_epsilon(1e-7)
    layers.Dense(1)
    config.clear_session()
    assert layers.Dense(1).name == "dense"

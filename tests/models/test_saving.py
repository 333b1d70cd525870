"""save / load_model / save_weights / load_weights on safetensors: round trips, compile settings and
optimizer state, atomic writes, and clear errors for missing, damaged and foreign files."""
import json
import os
import stat

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import forgenet
from forgenet.models import Sequential, load_model, saving

from models_helpers import Linear, blobs, mlp

CUSTOM = {"Linear": Linear}


@pytest.fixture
def trained():
    x, y = blobs(n=64)
    model = mlp()
    model.compile(forgenet.optimizers.Adam(learning_rate=0.005), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    return model, x, y


def test_round_trip_predicts_identically(trained, tmp_path):
    model, x, y = trained
    path = tmp_path / "m.fgn"
    model.save(path)
    loaded = load_model(path, custom_objects=CUSTOM)
    assert type(loaded) is Sequential and loaded.name == model.name
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # compile settings come back, and evaluate gives the same figures
    assert type(loaded.optimizer) is forgenet.optimizers.Adam and loaded.optimizer.learning_rate == 0.005
    assert type(loaded.loss) is forgenet.losses.SparseCategoricalCrossentropy
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    # the file is plain safetensors: weights under their names, config in the metadata
    tensors = load_file(path)
    names = [w.name for w in model.weights]
    for name, w in zip(names, model.get_weights()):
        np.testing.assert_array_equal(tensors[name], w)
    # Keras's registry style works instead of custom_objects
    saving.register_serializable()(Linear)
    try:
        assert load_model(path).count_params() == model.count_params()
    finally:
        saving._REGISTERED.pop("Linear")
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o044  # an ordinary file, not mkstemp's 0600


def test_optimizer_state_resumes_training_exactly(trained, tmp_path):
    model, x, y = trained
    model.save(tmp_path / "m.fgn")
    resumed = load_model(tmp_path / "m.fgn", custom_objects=CUSTOM)
    assert resumed.optimizer.iterations == model.optimizer.iterations == 4
    forgenet.utils.set_random_seed(11)
    model.fit(x, y, epochs=1, verbose=0)
    forgenet.utils.set_random_seed(11)
    resumed.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    resumed.save(tmp_path / "n.fgn", include_optimizer=False)
    assert load_model(tmp_path / "n.fgn", custom_objects=CUSTOM).optimizer.iterations == 0
    assert not load_model(tmp_path / "n.fgn", custom_objects=CUSTOM, compile=False).compiled


def test_uncompiled_and_lazily_built_models(tmp_path):
    x, _ = blobs(n=10)
    model = Sequential([Linear(5, "relu"), Linear(2)])  # no input_shape: built by the first call
    with pytest.raises(ValueError, match="has not been built yet"):
        model.save(tmp_path / "m.fgn")
    model(x)
    model.save(tmp_path / "m.fgn")
    loaded = load_model(tmp_path / "m.fgn", custom_objects=CUSTOM)
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_is_atomic(trained, tmp_path, monkeypatch):
    model, x, _ = trained
    path = tmp_path / "m.fgn"
    model.save(path)
    before = path.read_bytes()
    model.fit(x, np.zeros(len(x), np.int64), epochs=1, verbose=0)  # the weights change

    from forgenet.saving import safetensors_io

    real = safetensors_io.write

    def dies_half_way(f, tensors, metadata):
        real(f, tensors, metadata)
        f.flush()
        f.truncate(f.tell() // 2)  # a crash part-way through the data
        raise OSError("No space left on device")

    monkeypatch.setattr(safetensors_io, "write", dies_half_way)
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.fgn"]  # no temporary file left behind

    class Boom(RuntimeError):
        pass

    calls = {"n": 0}
    real_numpy = forgenet.Variable.numpy

    def numpy_fails_on_third(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Boom("device lost")
        return real_numpy(self)

    monkeypatch.setattr(safetensors_io, "write", real)
    monkeypatch.setattr(forgenet.Variable, "numpy", numpy_fails_on_third)
    with pytest.raises(Boom):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.fgn"]
    assert load_model(path, custom_objects=CUSTOM).count_params() == model.count_params()


def test_load_errors(trained, tmp_path):
    model, _, _ = trained
    with pytest.raises(FileNotFoundError, match="load_model: no such file"):
        load_model(tmp_path / "missing.fgn")
    good = tmp_path / "m.fgn"
    model.save(good)
    data = good.read_bytes()
    bad = tmp_path / "bad.fgn"
    for blob, why in ((data[: len(data) // 2], "truncated"), (data[:5], "shorter than a header"), (b"", "empty"),
                      (os.urandom(300), "random bytes"), (b"PK\x03\x04" + b"\x00" * 100, "a zip file")):
        bad.write_bytes(blob)
        with pytest.raises(ValueError, match=r"load_model: .*bad.fgn is not a forgenet model file \("):
            load_model(bad, custom_objects=CUSTOM)
    save_file({"w": np.zeros(3, np.float32)}, str(bad))  # a foreign safetensors file
    with pytest.raises(ValueError, match=r"is not a forgenet model file \(a safetensors file without forgenet"):
        load_model(bad)
    model.save_weights(bad)
    with pytest.raises(ValueError, match=r"is not a forgenet model file \(it holds only weights"):
        load_model(bad)
    with pytest.raises(ValueError, match=r"unknown layer class 'Linear'.*custom_objects=\{'Linear': Linear\}"):
        load_model(good)
    with pytest.raises(ValueError, match="is not a forgenet model file .it is a directory"):
        load_model(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(good, overwrite=False)


def test_weights_round_trip_and_checks(trained, tmp_path):
    model, x, _ = trained
    path = tmp_path / "w.weights.fgn"
    model.save_weights(path)
    other = mlp(seed=5)
    assert not np.array_equal(other.get_weights()[0], model.get_weights()[0])
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    # a model file also works for load_weights; an unbuilt model is built from the recorded shape
    model.save(tmp_path / "m.fgn")
    lazy = Sequential([Linear(16, "relu"), Linear(3, "softmax")])
    lazy.load_weights(tmp_path / "m.fgn")
    np.testing.assert_array_equal(lazy.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match=r"load_weights: .* holds 4 weight arrays but model '.*' has 6"):
        Sequential([Linear(16, "relu", input_shape=(4,)), Linear(8), Linear(3)]).load_weights(path)
    with pytest.raises(ValueError, match=r"weight '.*kernel' of model '.*' has shape \(5, 16\) but .* holds shape "
                                         r"\(4, 16\)"):
        mlp(dim=5).load_weights(path)
    with pytest.raises(FileNotFoundError, match="load_weights: no such file"):
        model.load_weights(tmp_path / "nope")
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:  # a plain safetensors file, weights in order
        meta = f.metadata()
        assert meta["format"] == "forgenet.weights"
        assert json.loads(meta["weight_names"]) == [w.name for w in model.weights]


def test_keras_layers_round_trip_without_custom_objects(tmp_path):
    from forgenet.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

    forgenet.utils.set_random_seed(3)
    model = Sequential([Conv2D(3, 3, activation="relu", padding="same", input_shape=(8, 8, 2)), MaxPooling2D(2),
                        Flatten(), Dropout(0.3), Dense(5, activation="softmax")])
    model.compile(forgenet.optimizers.RMSprop(momentum=0.5), "categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((12, 8, 8, 2)).astype(np.float32)
    model.fit(x, np.eye(5)[np.arange(12) % 5], epochs=1, verbose=0)
    model.save(tmp_path / "cnn.fgn")
    loaded = load_model(tmp_path / "cnn.fgn")
    assert [type(l).__name__ for l in loaded.layers] == ["Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.optimizer) is forgenet.optimizers.RMSprop and loaded.optimizer.momentum == 0.5


def test_subclassed_model_round_trip(tmp_path):
    from test_fit import Residual

    x, y = blobs(n=30)
    forgenet.utils.set_random_seed(0)
    model = Residual(name="res")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "res.fgn")
    loaded = load_model(tmp_path / "res.fgn", custom_objects={"Residual": Residual})
    assert type(loaded) is Residual and loaded.name == "res"
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_nested_sequential_round_trip(tmp_path):
    from forgenet.layers import Dense

    block = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(8)], name="block")
    model = Sequential([block, Dense(3, activation="softmax")])
    assert model.built and model.output_shape == (None, 3)  # built from the inner model's input
    x = np.random.default_rng(0).random((10, 4)).astype(np.float32)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, np.arange(10) % 3, verbose=0)
    model.save(tmp_path / "nested.fgn")
    loaded = load_model(tmp_path / "nested.fgn")
    assert type(loaded.layers[0]) is Sequential and loaded.layers[0].name == "block"
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

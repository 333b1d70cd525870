"""Bad input to models: each error names the model or op, what was expected and what came."""
import importlib.util
import sys
import types

import numpy as np
import pytest

import forgenet
from forgenet.models import Model, Sequential

from models_helpers import Linear, blobs, mlp


@pytest.fixture
def data():
    return blobs(n=20)


@pytest.fixture
def model():
    m = mlp()
    m.name = "clf"
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_fit_evaluate_before_compile(data):
    m = mlp()
    m.name = "net"
    with pytest.raises(RuntimeError, match=r"net: you must call compile\(\) before fit\(\)"):
        m.fit(*data, verbose=0)
    with pytest.raises(RuntimeError, match=r"you must call compile\(\) before evaluate\(\)"):
        m.evaluate(*data, verbose=0)
    assert m.predict(data[0], verbose=0).shape == (20, 3)  # predict needs no compile
    m.compile("sgd")
    with pytest.raises(ValueError, match=r"net: no loss to compute. Provide a `loss` argument in compile\(\)"):
        m.fit(*data, verbose=0)


def test_unknown_names_list_the_valid_ones():
    m = mlp()
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamaxx'; expected one of \['adadelta', 'adagrad', "
                                         r"'adam', .*'sgd'\]"):
        m.compile("adamaxx", "mse")
    with pytest.raises(ValueError, match=r"Unknown loss 'cross_entropy'; expected one of \[.*"
                                         r"'sparse_categorical_crossentropy'.*\]"):
        m.compile("adam", "cross_entropy")
    with pytest.raises(ValueError, match=r"Unknown metric 'precisionn'; expected one of \['acc', 'accuracy', "):
        m.compile("adam", "mse", metrics=["precisionn"])
    with pytest.raises(ValueError, match="metrics must be a list, tuple or dict, got str"):
        m.compile("adam", "mse", metrics="accuracy")
    with pytest.raises(ValueError, match=r"the third positional argument of compile\(\) is loss_weights"):
        m.compile("adam", "mse", ["accuracy"])
    with pytest.raises(TypeError, match=r"compile: unexpected keyword arguments \['lr'\]"):
        m.compile("adam", "mse", lr=0.1)
    m.compile("adam", "mse", jit_compile=False)  # Keras arguments without meaning here are accepted


def test_data_shape_errors(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"clf.fit: x and y must have the same number of samples, got x with 20 and y "
                                         r"with 19"):
        model.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match=r"clf.evaluate: x and y must have the same number of samples"):
        model.evaluate(x[:5], y, verbose=0)
    with pytest.raises(ValueError, match=r"clf.fit: x is empty \(0 samples\)"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match=r"clf.evaluate: x is empty"):
        model.evaluate(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer, got 0"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match=r"20 samples are too few to split with validation_split=0.99"):
        model.fit(x, y, validation_split=0.99, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple \(x_val, y_val\)"):
        model.fit(x, y, validation_data=x, verbose=0)
    with pytest.raises(ValueError):  # a list of inputs for a one-input model (multi-input: tests/trainer)
        model.fit([x, x], y, verbose=0)
    with pytest.raises(TypeError, match="x must be numeric, got dtype <U"):
        model.predict(np.array([["a"] * 4]), verbose=0)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: y_true must hold integer class ids, got non-integer values"):
        model.fit(x, y + 0.5, verbose=0)
    with pytest.raises(ValueError, match=r"expected input with last dimension 4|last dimension|matmul"):
        model.fit(x[:, :3], y, verbose=0)


def test_label_errors(model, data):
    x, y = data
    bad = y.copy()
    bad[3] = 3
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: labels must be class ids in \[0, 3\) since "
                                         r"y_pred has 3 classes, got 3"):
        model.fit(x, bad, verbose=0)
    with pytest.raises(ValueError, match=r"got -1"):
        model.evaluate(x, np.where(y == 0, -1, y), verbose=0)
    with pytest.raises(ValueError, match=r"expected integer class ids of shape \(20,\).*got y_true of shape \(20, 3\) "
                                         r"\(one-hot targets need categorical_crossentropy\)"):
        model.fit(x, np.eye(3)[y], batch_size=20, verbose=0)
    model.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"categorical_crossentropy: expected one-hot targets of shape \(20, 3\)"):
        model.fit(x, y, batch_size=20, verbose=0)


def test_nan_data_does_not_crash(model, data):
    x, y = data
    x = x.copy()
    x[0, 0] = np.nan
    h = model.fit(x, y, batch_size=20, verbose=0, callbacks=[forgenet.callbacks.TerminateOnNaN()])
    assert np.isnan(h.history["loss"][0])
    assert np.isnan(model.predict(x[:2], verbose=0)).all()


def test_predict_on_empty_batch_returns_empty(model, data):
    x, _ = data
    out = model.predict(x[:0], verbose=0)
    assert out.shape == (0, 3) and out.dtype == np.float32
    lazy = Sequential([Linear(5)])  # not built: the empty input's shape still builds it
    assert lazy.predict(np.zeros((0, 7), np.float32), verbose=0).shape == (0, 5)


def test_building_and_layers_errors():
    with pytest.raises(TypeError, match=r"sequential.*add: expected a Layer instance, got int"):
        Sequential([3])
    layer = Linear(2)
    with pytest.raises(ValueError, match="is already in the model"):
        Sequential([layer, layer])
    with pytest.raises(ValueError, match="unique names"):
        Sequential([Linear(2, name="a"), Linear(2, name="a")])
    with pytest.raises(IndexError, match="there are no layers to remove"):
        Sequential().pop()
    with pytest.raises(ValueError, match=r"could not build layer 'linear\w*' on an input of shape \(None, None\)"):
        Sequential([Linear(2)]).build((None, None))
    with pytest.raises(ValueError, match="all `inputs` values must be KerasTensors"):
        Model("inputs", "outputs")
    m = Sequential([Linear(4, input_shape=(3,)), Linear(2)])
    assert m.output_shape == (None, 2)
    assert m.pop().units == 2 and m.output_shape == (None, 4) and len(m.weights) == 2
    m.add(Linear(6))
    assert m.output_shape == (None, 6) and len(m.weights) == 4


def test_device_errors(model):
    with pytest.raises(ValueError, match=r"clf.to: device must be 'cpu' or 'cuda', got 'tpu'"):
        model.to("tpu")
    assert model.to("cpu") is model and model.device == "cpu"
    if importlib.util.find_spec("cupy") is None:
        with pytest.raises(RuntimeError, match=r"clf.to\('cuda'\): CuPy is not installed"):
            model.to("cuda")


def test_to_cuda_without_a_gpu_names_what_is_missing(model, monkeypatch):
    """CI's case: CuPy importable (a stand-in here) but no GPU, or a build without CUDA kernels."""
    from forgenet import _cuda_backend

    if _cuda_backend.available():
        pytest.skip("a GPU is present")
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    monkeypatch.setattr(_cuda_backend, "_ops", None)
    want = r"no CUDA GPU found" if _cuda_backend.built_with_cuda() else r".*built without CUDA"
    with pytest.raises(RuntimeError, match=r"clf.to\('cuda'\): " + want):
        model.to("cuda")
    assert model.device == "cpu" and all(type(w.data) is np.ndarray for w in model.weights)

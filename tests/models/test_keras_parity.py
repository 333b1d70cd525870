"""The same computations in Keras 3 (torch backend, CPU) and forgenet: optimizer steps, losses, and a
whole fit (weights copied over, no shuffling) must agree to float32 rounding, history keys included."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

import forgenet  # noqa: E402
from forgenet import losses, optimizers  # noqa: E402
from forgenet.autograd import Tensor, Variable  # noqa: E402

from models_helpers import blobs  # noqa: E402

from support import assert_close  # noqa: E402

OPTIMIZERS = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
]


@pytest.mark.parametrize("name, kw", OPTIMIZERS)
def test_optimizer_steps_match_keras(rng, name, kw):
    w0 = [rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3,)).astype(np.float32)]
    steps = [[rng.standard_normal(w.shape).astype(np.float32) for w in w0] for _ in range(5)]
    kvars = [keras.Variable(w.copy()) for w in w0]
    kopt = getattr(keras.optimizers, name)(**kw)
    fvars = [Variable(w.copy()) for w in w0]
    fopt = getattr(optimizers, name)(**kw)
    for grads in steps:
        kopt.apply([keras.ops.convert_to_tensor(g) for g in grads], kvars)
        fopt.apply([g.copy() for g in grads], fvars)
    for k, f in zip(kvars, fvars):
        assert_close(f.data, keras.ops.convert_to_numpy(k), rtol=1e-5, atol=1e-6, what=f"{name} {kw}")


def test_losses_match_keras(rng):
    p = rng.random((6, 4)).astype(np.float32)
    p[0, 1] = 0.0
    labels = rng.integers(0, 4, 6)
    onehot = np.eye(4, dtype=np.float32)[labels]
    z = (rng.standard_normal((6, 4)) * 5).astype(np.float32)
    b = rng.random((6, 1)).astype(np.float32)
    bt = (rng.random((6, 1)) > 0.5).astype(np.float32)
    cases = [("SparseCategoricalCrossentropy", {}, labels, p), ("SparseCategoricalCrossentropy", {"from_logits": True}, labels, z),
             ("CategoricalCrossentropy", {}, onehot, p), ("CategoricalCrossentropy", {"label_smoothing": 0.1}, onehot, p),
             ("CategoricalCrossentropy", {"from_logits": True}, onehot, z), ("BinaryCrossentropy", {}, bt, b),
             ("BinaryCrossentropy", {"from_logits": True}, bt, z[:, :1]), ("BinaryCrossentropy", {}, bt[:, 0], b),
             ("MeanSquaredError", {}, onehot, p), ("MeanAbsoluteError", {}, onehot, p)]
    for name, kw, t, y in cases:
        ref = keras.ops.convert_to_numpy(getattr(keras.losses, name)(**kw)(t, y))
        got = getattr(losses, name)(**kw)(t, Tensor(y)).data
        assert_close(got, ref, rtol=1e-5, atol=1e-6, what=f"{name} {kw}")


@pytest.mark.parametrize("opt, loss_name, out_act, metric", [
    ("adam", "sparse_categorical_crossentropy", "softmax", "accuracy"),
    ("rmsprop", "categorical_crossentropy", "softmax", "acc"),
    ("sgd", "mse", None, "mae"),
])
def test_fit_matches_keras(opt, loss_name, out_act, metric):
    x, y = blobs(n=70, classes=3, dim=5, seed=1)
    target = np.eye(3, dtype=np.float32)[y] if loss_name != "sparse_categorical_crossentropy" else y
    keras.utils.set_random_seed(0)
    kmodel = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.Dense(3, activation=out_act)])
    kmodel.compile(optimizer=opt, loss=loss_name, metrics=[metric])
    fmodel = forgenet.models.Sequential([forgenet.layers.Dense(8, activation="relu", input_shape=(5,)),
                                         forgenet.layers.Dense(3, activation=out_act)])
    fmodel.set_weights(kmodel.get_weights())
    fmodel.compile(optimizer=opt, loss=loss_name, metrics=[metric])
    kh = kmodel.fit(x, target, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.2)
    fh = fmodel.fit(x, target, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.2)
    assert list(fh.history) == list(kh.history)
    for k in kh.history:
        assert_close(fh.history[k], kh.history[k], rtol=2e-4, atol=1e-5, what=k)
    for kw, fw in zip(kmodel.get_weights(), fmodel.get_weights()):
        assert_close(fw, kw, rtol=1e-4, atol=2e-5)
    kev = kmodel.evaluate(x, target, batch_size=32, verbose=0)
    fev = fmodel.evaluate(x, target, batch_size=32, verbose=0)
    assert_close(fev, kev, rtol=2e-4, atol=1e-5)
    assert_close(fmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_summary_matches_keras(capsys):
    kmodel = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                               keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dropout(0.5),
                               keras.layers.Dense(10, activation="softmax")], name="convnet")
    fmodel = forgenet.models.Sequential(
        [forgenet.layers.Conv2D(8, 3, activation="relu", input_shape=(12, 12, 3), name="conv2d"),
         forgenet.layers.MaxPooling2D(2, name="max_pooling2d"), forgenet.layers.Flatten(name="flatten"),
         forgenet.layers.Dropout(0.5, name="dropout"), forgenet.layers.Dense(10, activation="softmax", name="dense")],
        name="convnet")
    for m in (kmodel, fmodel):
        m.compile("adam", "sparse_categorical_crossentropy")
        m.fit(np.zeros((4, 12, 12, 3), np.float32), np.zeros(4), verbose=0)
    capsys.readouterr()
    kmodel.summary()
    ktext = capsys.readouterr().out
    fmodel.summary()
    ftext = capsys.readouterr().out
    assert ftext.splitlines()[1:4] == ktext.splitlines()[1:4]  # the header, character for character
    # Keras's layer names carry process-wide counters (conv2d_3 once other tests made layers): drop them
    import re

    def norm(text):
        return [re.sub(r" +", " ", re.sub(r"\b(conv2d|max_pooling2d|flatten|dropout|dense)(_\d+)?\b", r"\1", line))
                for line in text.strip().splitlines()]

    assert norm(ftext) == norm(ktext), f"\n{ftext}\n{ktext}"

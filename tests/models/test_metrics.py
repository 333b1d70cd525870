"""Metrics: Keras 3's resolution of "accuracy", the per-sample formulas, and averages weighted by
the number of samples (in the metrics and in the loss reported by fit/evaluate)."""
import numpy as np
import pytest

import forgenet
from forgenet import metrics

from models_helpers import blobs, mlp

from support import assert_close


def test_accuracy_resolution_follows_keras_shapes():
    cases = [  # (y_true shape, y_pred shape) -> class, as keras/src/trainers/compile_utils.get_metric
        ((8,), (8, 5), metrics.SparseCategoricalAccuracy),
        ((8, 1), (8, 5), metrics.SparseCategoricalAccuracy),
        ((8, 5), (8, 5), metrics.CategoricalAccuracy),
        ((8, 1), (8, 1), metrics.BinaryAccuracy),
        ((8,), (8, 1), metrics.BinaryAccuracy),
        ((8, 3), (8, 3), metrics.CategoricalAccuracy),
        ((8, 4), (8, 4, 6), metrics.SparseCategoricalAccuracy),
    ]
    for t, p, cls in cases:
        for name in ("accuracy", "acc"):
            m = metrics.get(name, np.zeros(t), np.zeros(p))
            assert type(m) is cls, (t, p, name)
            assert m.name == name  # the name stays as the user wrote it
    assert metrics.get("mse").name == "mse" and isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    with pytest.raises(ValueError, match=r"Unknown metric 'f1'; expected one of \[.*'accuracy'.*'mse'"):
        metrics.get("f1")


def test_formulas(rng):
    p = rng.random((10, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 10)
    ref = (p.argmax(-1) == labels).astype(np.float32)
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels, p), ref)
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels[:, None], p), ref)
    np.testing.assert_array_equal(metrics.categorical_accuracy(np.eye(4)[labels], p), ref)
    b = rng.random((10, 1)).astype(np.float32)
    bt = (rng.random((10, 1)) > 0.5).astype(np.float32)
    np.testing.assert_array_equal(metrics.binary_accuracy(bt, b), (bt == (b > 0.5))[:, 0])
    np.testing.assert_array_equal(metrics.binary_accuracy(bt[:, 0], b), (bt == (b > 0.5))[:, 0])
    assert metrics.binary_accuracy(bt, b, threshold=0.0).mean() == bt.mean()
    assert_close(metrics.mean_squared_error(bt, b), ((b - bt) ** 2)[:, 0])


def test_running_means_are_weighted_by_samples():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(np.array([0, 0, 0]), np.eye(3)[[0, 0, 0]])  # 3 of 3 right
    m.update_state(np.array([1]), np.eye(3)[[0]])  # 0 of 1 right
    assert m.result() == pytest.approx(0.75)  # not (1 + 0) / 2
    m.reset_state()
    assert m.result() == 0.0
    mean = metrics.Mean()
    mean.update_state(2.0, sample_weight=3)
    mean.update_state(6.0, sample_weight=1)
    assert mean.result() == pytest.approx(3.0)


def test_evaluate_is_independent_of_the_batch_size():
    x, y = blobs(n=50)
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    whole = model.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    for bs in (7, 16, 1):
        got = model.evaluate(x, y, batch_size=bs, verbose=0, return_dict=True)
        assert got["loss"] == pytest.approx(whole["loss"], rel=1e-5)
        assert got["accuracy"] == pytest.approx(whole["accuracy"])
    p = model.predict(x, verbose=0)
    assert whole["accuracy"] == pytest.approx(float((p.argmax(-1) == y).mean()))
    onehot = np.eye(3)[y]
    ref = -np.log(np.clip(p[np.arange(50), y].astype(np.float64), 1e-7, 1)).mean()
    assert whole["loss"] == pytest.approx(ref, rel=1e-4)
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy", "mse"])
    logs = model.evaluate(x, onehot, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "mse"}
    assert logs["accuracy"] == pytest.approx(whole["accuracy"])
    assert logs["mse"] == pytest.approx(float(((p - onehot) ** 2).mean()), rel=1e-4)
    assert model.metrics_names == ["loss", "compile_metrics"]  # Keras 3: the compiled metrics are one entry
    assert [m.name for m in model.metrics[1].metrics] == ["accuracy", "mse"]


def test_metric_objects_and_functions_in_compile():
    x, y = blobs(n=40)
    model = mlp()

    def top_class_is_zero(y_true, y_pred):
        return (y_pred.argmax(-1) == 0).astype(np.float32)

    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=[metrics.SparseCategoricalAccuracy(), top_class_is_zero, "acc", "acc"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == sorted(["acc", "acc_1", "loss", "sparse_categorical_accuracy", "top_class_is_zero"])
    assert logs["acc"] == logs["acc_1"] == logs["sparse_categorical_accuracy"]
    p = model.predict(x, verbose=0)
    assert logs["top_class_is_zero"] == pytest.approx(float((p.argmax(-1) == 0).mean()))


def test_binary_accuracy_with_sigmoid_output():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    forgenet.utils.set_random_seed(1)
    model = mlp(classes=1, out_activation="sigmoid")
    model.compile(forgenet.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert isinstance(model._compile_metrics.metrics[0], metrics.BinaryAccuracy)
    assert hist.history["accuracy"][-1] > 0.9
    p = model.predict(x, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] == pytest.approx(float(((p[:, 0] > 0.5) == y).mean()))

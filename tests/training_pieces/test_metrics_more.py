"""The added metrics against Keras 3 (torch backend): the same batches (with and without sample weights)
through update_state, then result(); configs round trip; string aliases resolve."""
import os
import re

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from forgenet import metrics  # noqa: E402

R = np.random.default_rng(0)
N, C = 16, 5
BIN_T = R.integers(0, 2, (N, 1)).astype(np.float32)
BIN_P = R.uniform(0, 1, (N, 1)).astype(np.float32)
ML_T = R.integers(0, 2, (N, 3)).astype(np.float32)
ML_P = R.uniform(0, 1, (N, 3)).astype(np.float32)
IDS = R.integers(0, C, N)
ONEHOT = np.eye(C, dtype=np.float32)[IDS]
PROBS = R.dirichlet(np.ones(C), N).astype(np.float32)
REG_T, REG_P = R.uniform(0.1, 2, (N, 3)).astype(np.float32), R.uniform(0.1, 2, (N, 3)).astype(np.float32)
LOGITS = R.standard_normal((N, 1)).astype(np.float32)

CASES = [
    ("AUC", {}, BIN_T, BIN_P), ("AUC", {"curve": "PR"}, BIN_T, BIN_P),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, BIN_T, BIN_P),
    ("AUC", {"summation_method": "majoring", "num_thresholds": 13}, BIN_T, BIN_P),
    ("AUC", {"curve": "PRGAIN"}, BIN_T, BIN_P), ("AUC", {"from_logits": True}, BIN_T, LOGITS),
    ("AUC", {"multi_label": True}, ML_T, ML_P), ("AUC", {"multi_label": True, "label_weights": [1, 2, 0.5]}, ML_T, ML_P),
    ("AUC", {"thresholds": [0.2, 0.5, 0.7]}, ML_T, ML_P),
    ("Precision", {}, ML_T, ML_P), ("Precision", {"thresholds": [0.3, 0.6]}, ML_T, ML_P),
    ("Precision", {"top_k": 2}, ONEHOT, PROBS), ("Precision", {"class_id": 1}, ML_T, ML_P),
    ("Recall", {}, ML_T, ML_P), ("Recall", {"thresholds": 0.2}, ML_T, ML_P), ("Recall", {"top_k": 1}, ONEHOT, PROBS),
    ("TruePositives", {}, ML_T, ML_P), ("FalsePositives", {"thresholds": [0.1, 0.9]}, ML_T, ML_P),
    ("TrueNegatives", {}, ML_T, ML_P), ("FalseNegatives", {}, ML_T, ML_P),
    ("F1Score", {}, ONEHOT, PROBS), ("F1Score", {"average": "macro"}, ONEHOT, PROBS),
    ("F1Score", {"average": "micro", "threshold": 0.3}, ONEHOT, PROBS),
    ("F1Score", {"average": "weighted"}, ONEHOT, PROBS), ("FBetaScore", {"beta": 2.0, "average": "macro"}, ONEHOT, PROBS),
    ("MeanIoU", {"num_classes": C}, IDS, R.integers(0, C, N)),
    ("MeanIoU", {"num_classes": C, "sparse_y_pred": False, "ignore_class": 0}, IDS, PROBS),
    ("TopKCategoricalAccuracy", {"k": 2}, ONEHOT, PROBS), ("SparseTopKCategoricalAccuracy", {}, IDS, PROBS),
    ("SparseTopKCategoricalAccuracy", {"k": 1}, IDS[:, None], PROBS),
    ("RootMeanSquaredError", {}, REG_T, REG_P), ("MeanAbsolutePercentageError", {}, REG_T, REG_P),
    ("MeanSquaredLogarithmicError", {}, REG_T, REG_P), ("LogCoshError", {}, REG_T, REG_P),
    ("Hinge", {}, ML_T, ML_P), ("SquaredHinge", {}, ML_T, ML_P), ("CategoricalHinge", {}, ONEHOT, PROBS),
    ("KLDivergence", {}, ONEHOT, PROBS), ("Poisson", {}, REG_T, REG_P), ("CosineSimilarity", {}, REG_T, REG_P),
    ("BinaryCrossentropy", {}, ML_T, ML_P), ("CategoricalCrossentropy", {"label_smoothing": 0.1}, ONEHOT, PROBS),
    ("SparseCategoricalCrossentropy", {}, IDS, PROBS), ("R2Score", {}, REG_T, REG_P),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, REG_T, REG_P),
]


def _run(m, t, p, sw):
    half = N // 2
    for sl in (slice(0, half), slice(half, N)):
        m.update_state(t[sl], p[sl], sample_weight=None if sw is None else sw[sl])
    r = m.result()
    return np.asarray(keras.ops.convert_to_numpy(r) if not isinstance(r, (float, np.ndarray, np.floating)) else r,
                      np.float64)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,kw,t,p", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, kw, t, p, weighted):
    sw = R.uniform(0.2, 2, N).astype(np.float32) if weighted else None
    km, fm = getattr(keras.metrics, name)(**kw), getattr(metrics, name)(**kw)
    np.testing.assert_allclose(_run(fm, t, p, sw), _run(km, t, p, sw), rtol=1e-4, atol=1e-5, err_msg=name)
    assert fm.name == re.sub(r"_\d+$", "", km.name)  # Keras numbers repeated default names (auc_1, ...)
    kc, fc = km.get_config(), fm.get_config()
    for k, v in kc.items():
        if k not in ("dtype", "name"):
            assert k in fc, k
            if isinstance(v, (list, tuple)) or isinstance(fc[k], (list, tuple)):
                np.testing.assert_allclose(np.asarray(fc[k], float), np.asarray(v, float), err_msg=k)
            else:
                assert fc[k] == v, (k, fc[k], v)
    clone = type(fm).from_config(fc)
    np.testing.assert_allclose(_run(clone, t, p, sw), _run(getattr(metrics, name)(**kw), t, p, sw))
    fm.reset_state()
    fm.update_state(t, p)
    km.reset_state()
    km.update_state(t, p)
    np.testing.assert_allclose(np.asarray(fm.result(), np.float64), keras.ops.convert_to_numpy(km.result()),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("alias", ["auc", "precision", "recall", "top_k_categorical_accuracy", "rmse",
                                   "root_mean_squared_error", "mape", "msle", "hinge", "kld", "poisson",
                                   "cosine_similarity", "logcosh"])
def test_aliases(alias):
    metrics.check(alias)
    m = metrics.get(alias)
    assert isinstance(m, metrics.Metric) and m.name == alias


def test_direction_for_early_stopping():
    assert metrics.AUC()._direction == "up" and metrics.RootMeanSquaredError()._direction == "down"
    assert metrics.Precision()._direction == "up" and metrics.MeanIoU(3)._direction == "up"

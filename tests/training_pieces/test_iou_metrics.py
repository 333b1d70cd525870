"""IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU against Keras 3 (torch backend): the same batches
(weighted and not, ignore_class, out-of-range ids), result after each, names and config round trips."""
import os
import re

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

from forgenet import metrics  # noqa: E402

R = np.random.default_rng(5)
C = 4
IDS_T = R.integers(0, C, (3, 6, 5))
IDS_P = R.integers(-1, C + 1, (3, 6, 5))  # a few out-of-range predictions: dropped, as in Keras
ONE_HOT_T = np.eye(C, dtype=np.float32)[IDS_T]
PROBS = R.dirichlet(np.ones(C), (3, 6, 5)).astype(np.float32)
BIN_T = R.integers(0, 2, (3, 10)).astype(np.float32)
BIN_P = R.uniform(0, 1, (3, 10)).astype(np.float32)
INT_W = R.integers(0, 3, (3, 6, 5))
FLOAT_W = R.uniform(0, 2, (3, 6, 5)).astype(np.float32)

CASES = [
    ("IoU", dict(num_classes=C, target_class_ids=[0, 2]), IDS_T, IDS_P),
    ("IoU", dict(num_classes=C, target_class_ids=[3], ignore_class=1), IDS_T, IDS_P),
    ("IoU", dict(num_classes=C, target_class_ids=[1, 2], sparse_y_pred=False), IDS_T, PROBS),
    ("MeanIoU", dict(num_classes=C), IDS_T, IDS_P),
    ("MeanIoU", dict(num_classes=C, ignore_class=0, sparse_y_true=False, sparse_y_pred=False), ONE_HOT_T, PROBS),
    ("MeanIoU", dict(num_classes=C + 2), IDS_T, IDS_P),  # classes that never occur are left out of the mean
    ("MeanIoU", dict(num_classes=C, dtype="float32"), IDS_T, IDS_P),
    ("BinaryIoU", dict(), BIN_T, BIN_P),
    ("BinaryIoU", dict(target_class_ids=[1], threshold=0.3), BIN_T, BIN_P),
    ("OneHotIoU", dict(num_classes=C, target_class_ids=[0, 3]), ONE_HOT_T, PROBS),
    ("OneHotIoU", dict(num_classes=C, target_class_ids=[2], sparse_y_pred=True), ONE_HOT_T, IDS_P),
    ("OneHotMeanIoU", dict(num_classes=C), ONE_HOT_T, PROBS),
    ("OneHotMeanIoU", dict(num_classes=C, ignore_class=2), ONE_HOT_T, PROBS),
]


def _weights(name, kw, y_true):
    if name == "BinaryIoU":
        return R.integers(0, 3, y_true.shape)
    return FLOAT_W if kw.get("dtype") == "float32" else INT_W


@pytest.mark.parametrize("name,kw,y_true,y_pred", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_iou_matches_keras(name, kw, y_true, y_pred):
    ours, theirs = getattr(metrics, name)(**kw), getattr(keras.metrics, name)(**kw)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras numbers repeated names
    w = _weights(name, kw, y_true)
    for i in range(len(y_true)):  # batch by batch: the confusion matrix accumulates
        sw = None if i == 0 else w[i]
        ours.update_state(y_true[i], y_pred[i], sample_weight=sw)
        theirs.update_state(y_true[i], y_pred[i], sample_weight=sw)
        np.testing.assert_allclose(float(ours.result()), float(keras.ops.convert_to_numpy(theirs.result())),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{name} after batch {i}")
    cfg, kcfg = ours.get_config(), theirs.get_config()
    assert cfg == {**kcfg, "name": ours.name}
    again = type(ours).from_config(cfg)
    assert again.get_config() == cfg
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_iou_in_compile_and_bad_arguments():
    import forgenet

    m = forgenet.Sequential([forgenet.Input(shape=(3,)), forgenet.layers.Dense(C, activation="softmax")])
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
              metrics=[metrics.MeanIoU(C, sparse_y_pred=False)])
    x = R.standard_normal((8, 3)).astype(np.float32)
    logs = m.evaluate(x, R.integers(0, C, 8), verbose=0, return_dict=True)
    assert "mean_io_u" in logs and 0.0 <= logs["mean_io_u"] <= 1.0
    with pytest.raises(ValueError, match="target class id 4 is out of range"):
        metrics.IoU(num_classes=4, target_class_ids=[0, 4])
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        metrics.MeanIoU(num_classes=0)

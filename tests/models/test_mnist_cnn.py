"""The article's CNN end to end: full MNIST accuracy after one epoch, and the example script."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import forgenet
from forgenet.datasets import mnist
from forgenet.examples.mnist_cnn import build_model, prepare


@pytest.mark.slow
def test_article_cnn_one_epoch_full_mnist(shared_data):
    if not (shared_data / "mnist").is_dir():
        pytest.skip(f"{shared_data / 'mnist'} is not present on this machine")
    (x_train, y_train), (x_test, y_test) = mnist.load_data(shared_data / "mnist")
    x_train, x_test = prepare(x_train), prepare(x_test)
    forgenet.utils.set_random_seed(0)
    model = build_model()
    history = model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test)
    assert predictions.shape == (10000, 10) and predictions.dtype == np.float32
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, atol=1e-5)
    assert history.history["loss"][0] < 0.3, history.history
    assert acc >= 0.98, f"test accuracy {acc:.4f} after one epoch (Keras reaches ~0.985)"
    assert abs((predictions.argmax(axis=1) == y_test).mean() - acc) < 1e-6


def test_example_runs_on_bundled_sample(tmp_path):
    # an empty HOME and no $FORGENET_DATA: the example must fall back to the bundled sample
    env = {k: v for k, v in os.environ.items() if k != "FORGENET_DATA"}
    env["HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "forgenet.examples.mnist_cnn", "--epochs", "1", "--threads", "2", "--verbose", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "bundled sample" in out.stderr
    assert "train (6000, 28, 28, 1), test (1000, 28, 28, 1)" in out.stdout
    acc = float(re.search(r"test accuracy: ([0-9.]+)", out.stdout).group(1))
    assert acc > 0.8, out.stdout  # one epoch on 6000 images: ~0.9 with Keras
    assert re.search(r"time per epoch: [0-9.]+ s", out.stdout)
    assert len(re.findall(r"\b\d/\d\b", out.stdout.split("predicted/true): ")[1])) == 10

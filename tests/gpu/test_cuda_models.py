"""The article's models trained on the GPU (marked `gpu`; skipped where CuPy or a GPU is missing).

Each test builds the same model twice from the same seed, keeps one on the CPU and moves the other
with `model.to("cuda")`, feeds both the same batches, and asks the GPU run for the CPU run's numbers:
after one step the weights agree to float32 rounding; after an epoch (where rounding differences
grow through Adam) the loss and accuracy agree to a small tolerance. Data: the bundled MNIST sample
and tiny-Shakespeare excerpt, so no network or shared data is needed.
"""
import numpy as np
import pytest

from gpu_support import cupy  # first: skips the module without CuPy or a GPU

import forgenet
from forgenet.datasets import mnist, tiny_shakespeare
from forgenet.examples import char_transformer, mnist_cnn, text_lstm
from forgenet.utils import CharVocabulary

pytestmark = [pytest.mark.gpu,
              pytest.mark.filterwarnings("ignore:Argument `input_length` is deprecated")]  # the article's text model


def _twins(build):
    forgenet.utils.set_random_seed(0)
    cpu = build()
    forgenet.utils.set_random_seed(0)
    gpu = build().to("cuda")
    for a, b in zip(cpu.weights, gpu.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{b.name}: the twins start apart")
    return cpu, gpu


def _fit_both(cpu, gpu, x, y, **kw):
    hist = []
    for m in (cpu, gpu):
        forgenet.utils.set_random_seed(1)  # the same shuffles (and dropout masks) for both
        hist.append(m.fit(x, y, verbose=0, **kw).history)
    return hist


def _weights_agree(cpu, gpu, rtol, atol):
    for a, b in zip(cpu.weights, gpu.weights):
        assert type(b.data).__module__.startswith("cupy"), f"{b.name} is not on the GPU"
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=rtol, atol=atol, err_msg=b.name)


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = mnist.load_sample()
    return mnist_cnn.prepare(x[:3000]), y[:3000].astype(np.int64), mnist_cnn.prepare(xt), yt.astype(np.int64)


def test_cnn_one_step_matches_the_cpu(digits):
    x, y, _, _ = digits
    cpu, gpu = _twins(mnist_cnn.build_model)
    _fit_both(cpu, gpu, x[:64], y[:64], epochs=1, batch_size=64, shuffle=False)
    _weights_agree(cpu, gpu, rtol=1e-3, atol=1e-5)


def test_cnn_epoch_reaches_the_cpu_accuracy(digits):
    x, y, xt, yt = digits
    cpu, gpu = _twins(mnist_cnn.build_model)
    h_cpu, h_gpu = _fit_both(cpu, gpu, x, y, epochs=1, batch_size=32)
    assert abs(h_gpu["loss"][0] - h_cpu["loss"][0]) <= 0.03 * h_cpu["loss"][0], (h_gpu, h_cpu)
    (l_cpu, a_cpu), (l_gpu, a_gpu) = cpu.evaluate(xt, yt, verbose=0), gpu.evaluate(xt, yt, verbose=0)
    assert a_gpu > 0.85 and abs(a_gpu - a_cpu) <= 0.015, (a_gpu, a_cpu)
    assert abs(l_gpu - l_cpu) <= 0.05 * l_cpu + 0.01, (l_gpu, l_cpu)
    p = gpu.predict(xt[:100], verbose=0)  # numpy out, as on the CPU
    assert isinstance(p, np.ndarray)
    np.testing.assert_allclose(p, gpu.predict(cupy.asarray(xt[:100]), verbose=0), rtol=1e-5, atol=1e-6)


def test_text_model_epoch_reaches_the_cpu_loss():
    text = tiny_shakespeare.load_excerpt()
    vocab = CharVocabulary(text)
    train_text, held_text = text_lstm.split_text(text, 40)
    x, y = tiny_shakespeare.make_sequences(vocab.encode(train_text[:30_000]), 40, 3)
    xv, yv = tiny_shakespeare.make_sequences(vocab.encode(held_text[:3_000]), 40, 7)
    cpu, gpu = _twins(lambda: text_lstm.build_model(vocab.size, sparse=True))
    _fit_both(cpu, gpu, x[:32], y[:32], epochs=1, batch_size=32, shuffle=False)
    _weights_agree(cpu, gpu, rtol=1e-3, atol=1e-5)  # one step: rounding only
    h_cpu, h_gpu = _fit_both(cpu, gpu, x, y, epochs=1, batch_size=32)
    assert abs(h_gpu["loss"][0] - h_cpu["loss"][0]) <= 0.02 * h_cpu["loss"][0], (h_gpu, h_cpu)
    v_cpu, v_gpu = cpu.evaluate(xv, yv, verbose=0)[0], gpu.evaluate(xv, yv, verbose=0)[0]
    assert v_gpu < 3.3 and abs(v_gpu - v_cpu) <= 0.03 * v_cpu, (v_gpu, v_cpu)


def test_char_transformer_trains_as_on_the_cpu():
    text = tiny_shakespeare.load_excerpt()
    vocab = CharVocabulary(text)
    ids = vocab.encode(text)
    x, y = char_transformer.windows(ids, 32, 640, np.random.default_rng(0))
    cpu, gpu = _twins(lambda: char_transformer.build_model(vocab.size, 32, 2, 2, 32))
    _fit_both(cpu, gpu, x[:32], y[:32], epochs=1, batch_size=32, shuffle=False)
    _weights_agree(cpu, gpu, rtol=2e-3, atol=2e-5)
    h_cpu, h_gpu = _fit_both(cpu, gpu, x, y, epochs=1, batch_size=32)
    assert abs(h_gpu["loss"][0] - h_cpu["loss"][0]) <= 0.02 * h_cpu["loss"][0], (h_gpu, h_cpu)


def test_a_gpu_model_saves_and_loads(tmp_path, digits):
    x, y, xt, _ = digits
    _, gpu = _twins(mnist_cnn.build_model)
    gpu.fit(x[:256], y[:256], epochs=1, batch_size=64, verbose=0)
    path = tmp_path / "cnn.safetensors"
    gpu.save(path)
    loaded = forgenet.models.load_model(path)  # on the CPU
    np.testing.assert_allclose(loaded.predict(xt[:50], verbose=0), gpu.predict(xt[:50], verbose=0),
                               rtol=1e-4, atol=1e-6)

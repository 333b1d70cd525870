"""Models on "cuda", trained here on the CPU: fake_cupy stands in for CuPy and the emulated
forgenet._cuda runs the kernels. Model.to, fit/evaluate/predict with host or device inputs, the
optimizer state and every op a layer calls must stay on the device (fake_cupy refuses numpy/CuPy
mixes, as CuPy does) and give the CPU model's numbers. Small shapes: the emulator is slow.
"""
import numpy as np
import pytest

import fake_cupy
import forgenet
from forgenet import layers
from forgenet.models import Sequential


@pytest.fixture
def cp(emu, monkeypatch):
    """fake CuPy installed and forgenet's CUDA backend bound to the emulated module."""
    from forgenet import _cuda_backend

    cupy = fake_cupy.install(monkeypatch)
    monkeypatch.setattr(_cuda_backend, "_ops", _cuda_backend._Ops(emu.module, cupy))
    return cupy


def _twins(build):
    """Two models with the same initial weights: one to stay on the CPU, one to move."""
    forgenet.utils.set_random_seed(7)
    cpu = build()
    forgenet.utils.set_random_seed(7)
    gpu = build()
    return cpu, gpu


def _same_weights(cpu, gpu, rtol=2e-4, atol=2e-5):
    for a, b in zip(cpu.weights, gpu.weights):
        assert type(b.data).__module__ == "cupy", f"{b.name} left the device"
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=rtol, atol=atol, err_msg=b.name)


def small_cnn():
    m = Sequential([layers.Conv2D(4, 3, activation="relu", input_shape=(9, 9, 1)), layers.MaxPooling2D(2),
                    layers.Conv2D(6, (2, 2), padding="same", activation="relu"), layers.AveragePooling2D(2),
                    layers.Flatten(), layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_cnn_trains_on_the_device_as_on_the_cpu(cp, rng):
    x = rng.random((24, 9, 9, 1), dtype=np.float32)
    y = rng.integers(0, 3, 24)
    cpu, gpu = _twins(small_cnn)
    gpu.to("cuda")
    assert gpu.device == "cuda"
    h_cpu = cpu.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    h_gpu = gpu.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history  # host inputs
    np.testing.assert_allclose(h_gpu["loss"], h_cpu["loss"], rtol=1e-4)
    _same_weights(cpu, gpu)
    # device inputs are accepted as they are; predict returns host arrays as on the CPU
    p = gpu.predict(cp.asarray(x), batch_size=10, verbose=0)
    assert isinstance(p, np.ndarray) and type(p).__module__ == "numpy"
    np.testing.assert_allclose(p, cpu.predict(x, batch_size=10, verbose=0), rtol=1e-4, atol=1e-6)
    ev_gpu = gpu.evaluate(cp.asarray(x), cp.asarray(y), verbose=0, return_dict=True)
    ev_cpu = cpu.evaluate(x, y, verbose=0, return_dict=True)
    assert ev_gpu.keys() == ev_cpu.keys()
    for k in ev_cpu:
        np.testing.assert_allclose(ev_gpu[k], ev_cpu[k], rtol=1e-4, err_msg=k)


def test_to_and_back_keeps_weights_and_optimizer_state(cp, rng):
    x = rng.random((16, 9, 9, 1), dtype=np.float32)
    y = rng.integers(0, 3, 16)
    cpu, gpu = _twins(small_cnn)
    cpu.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    gpu.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)  # Adam moments exist now, on the host
    gpu.to("cuda")
    cpu.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    gpu.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    _same_weights(cpu, gpu)
    gpu.to("cpu")
    assert all(type(w.data) is np.ndarray for w in gpu.weights)
    cpu.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    gpu.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(cpu.weights, gpu.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=2e-4, atol=2e-5, err_msg=b.name)


def test_a_model_built_lazily_on_the_device_builds_its_weights_there(cp, rng):
    x = rng.random((12, 5), dtype=np.float32)
    y = rng.integers(0, 3, 12)

    def mlp():
        m = Sequential([layers.Dense(6, activation="tanh"), layers.Dense(3)])  # no input shape: built by fit
        m.compile(optimizer="sgd", loss=forgenet.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    cpu, gpu = mlp(), mlp().to("cuda")
    forgenet.utils.set_random_seed(7)  # the weights are drawn when fit builds the model
    h_cpu = cpu.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    forgenet.utils.set_random_seed(7)
    h_gpu = gpu.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_gpu["loss"], h_cpu["loss"], rtol=1e-4)
    _same_weights(cpu, gpu)
    gpu.set_weights(cpu.get_weights())  # host arrays in, device weights stay on the device
    _same_weights(cpu, gpu, rtol=0, atol=0)
    assert all(type(w) is np.ndarray for w in gpu.get_weights())


def small_text_model(mask_zero=False):
    m = Sequential([layers.Embedding(11, 4, mask_zero=mask_zero), layers.LSTM(6, return_sequences=True, dropout=0.25),
                    layers.LSTM(5), layers.Dense(11, activation="softmax")])
    m.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    return m


@pytest.mark.parametrize("mask_zero", [False, True])
def test_text_model_trains_on_the_device_as_on_the_cpu(cp, rng, mask_zero):
    """The article's Embedding + two LSTMs on character windows (id 0 as padding when masked)."""
    x = rng.integers(1, 11, (12, 5))
    if mask_zero:
        x[::3, :2] = 0  # left padding on some rows: the masked path, one kernel call per step
    y = rng.integers(0, 11, 12)
    cpu, gpu = small_text_model(mask_zero), small_text_model(mask_zero).to("cuda")
    hist = []
    for m in (cpu, gpu):
        forgenet.utils.set_random_seed(3)  # the same weights and dropout masks for both
        m.build((None, 5))
        hist.append(m.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"])
    np.testing.assert_allclose(hist[1], hist[0], rtol=1e-4)
    _same_weights(cpu, gpu)
    np.testing.assert_allclose(gpu.predict(x, verbose=0), cpu.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_public_ops_reject_bad_ids_and_labels_on_the_device(cp):
    """The CUDA kernels cannot raise, so the ops layer checks ids and labels on device arrays, with the
    messages forgenet._C gives on the CPU."""
    table = cp.asarray(np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"embedding: ids must be in \[0, 4\), got 7 at flat index 2"):
        forgenet.kernels.embedding(cp.asarray(np.array([[0, 3], [7, 1]])), table)
    with pytest.raises(ValueError, match=r"embedding_backward: ids must be in \[0, 4\), got -2 at flat index 0"):
        forgenet.kernels.embedding_backward(cp.asarray(np.ones((2, 2), np.float32)), cp.asarray(np.array([-2, 1])), 4)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got 3"):
        forgenet.kernels.softmax_cross_entropy(cp.asarray(np.zeros((2, 3), np.float32)), cp.asarray(np.array([0, 3])))


def test_char_transformer_trains_on_the_device_as_on_the_cpu(cp, rng):
    """Causal MultiHeadAttention (fused attention), LayerNormalization, GELU and embeddings on the device."""
    from forgenet.examples import char_transformer

    x = rng.integers(0, 13, (8, 8))
    y = rng.integers(0, 13, (8, 8))
    cpu, gpu = _twins(lambda: char_transformer.build_model(13, 8, 1, 2, 8))
    gpu.to("cuda")
    h_cpu = cpu.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    h_gpu = gpu.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_gpu["loss"], h_cpu["loss"], rtol=1e-4)
    _same_weights(cpu, gpu, rtol=1e-3, atol=1e-5)

"""The article's character-level text model: the same network in Keras 3 and forgenet (weights
exchanged), learning on the real tiny Shakespeare, and the example script end to end."""
import math
import os
import subprocess
import sys

os.environ["KERAS_BACKEND"] = "torch"  # must precede any keras import

import numpy as np
import pytest

import forgenet
from forgenet.examples import text_lstm

from support import assert_close

# keras-on-torch's np.array(tensor, copy=False) DeprecationWarning; the article's input_length warning
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Argument `input_length` is deprecated:UserWarning")]


def test_keras_model_and_ours_agree_on_exchanged_weights(rng):
    keras = pytest.importorskip("keras")
    pytest.importorskip("torch")
    vocab, dim, t = 23, 16, 12
    x = rng.integers(0, vocab, size=(5, t)).astype(np.int64)
    kmodel = keras.Sequential([keras.Input((t,), dtype="int64"), keras.layers.Embedding(vocab, dim),
                               keras.layers.LSTM(128, return_sequences=True), keras.layers.LSTM(128),
                               keras.layers.Dense(vocab, activation="softmax")])
    kw = kmodel.get_weights()
    fmodel = text_lstm.build_model(vocab, dim, t)
    fmodel.build((None, t))
    assert [w.shape for w in fmodel.get_weights()] == [w.shape for w in kw]
    # Keras's random weights, scaled up so the recurrences do more than sit near zero
    kw = [w * np.float32(3.0) if w.ndim == 2 else w + rng.standard_normal(w.shape).astype(np.float32) * 0.3
          for w in kw]
    kmodel.set_weights(kw)
    fmodel.set_weights(kw)
    ky = kmodel.predict(x, verbose=0)
    fy = fmodel.predict(x, verbose=0)
    assert_close(fy, ky, rtol=1e-4, atol=1e-5, what="text model softmax")
    assert ky.std() > 1e-3  # not a flat distribution: the comparison means something
    # and back: our weights into Keras
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in fmodel.get_weights()]),
                                  np.concatenate([w.ravel() for w in kw]))


@pytest.mark.slow
def test_learns_real_tiny_shakespeare(shared_data, capsys):
    """One epoch on 50,000 windows of the full text (the example as written: one-hot targets) brings the
    held-out loss well below the unigram entropy (what a model ignoring context gets, ~3.3 nats/char).
    Seen here: 2.37 nats/char; about 40 s of training on two idle cores."""
    path = shared_data / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        pytest.skip(f"{path} is not present on this machine")
    out = text_lstm.main(["--data", str(path), "--epochs", "1", "--max-sequences", "50000", "--max-eval", "3000",
                          "--batch-size", "32", "--length", "100", "--verbose", "0"])
    with capsys.disabled():
        print(f"\ntext LSTM on tiny Shakespeare: held-out loss {out['val_loss']:.3f} nats/char "
              f"(unigram entropy {out['unigram_entropy']:.3f}), {out['seconds']:.0f} s of training")
    assert 3.2 < out["unigram_entropy"] < 3.4 and out["vocab_size"] == 65
    assert math.isfinite(out["val_loss"]) and out["val_loss"] < 2.6
    assert out["loss"][-1] < out["unigram_entropy"]


def test_example_runs_on_bundled_excerpt(tmp_path):
    env = {**os.environ, "FORGENET_DATA": str(tmp_path / "none"), "HOME": str(tmp_path),
           "OMP_NUM_THREADS": "2"}
    cmd = [sys.executable, "-m", "forgenet.examples.text_lstm", "--epochs", "1", "--max-sequences", "256",
           "--max-eval", "128", "--length", "60", "--prompt", "ROMEO:\n", "--temperature", "0.8", "--seed", "3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "bundled excerpt" in r.stderr
    assert "held-out loss" in r.stdout and "epoch 1: loss" in r.stdout
    generated = r.stdout.split("--- generated (temperature 0.8) ---\n", 1)[1].rsplit("\n---", 1)[0]
    assert generated.startswith("ROMEO:\n") and len(generated) == len("ROMEO:\n") + 60


def test_generate_and_sample(rng):
    vocab = forgenet.utils.CharVocabulary("abcdef\n ")
    model = text_lstm.build_model(vocab.size, 8, 10)
    out = text_lstm.generate(model, vocab, "abc", 25, 10, 1.0, rng)
    assert len(out) == 25 and set(out) <= set(vocab.vocabulary)
    p = np.array([0.1, 0.6, 0.3])
    assert text_lstm.sample(p, 0.0, rng) == 1
    draws = np.bincount([text_lstm.sample(p, 0.05, rng) for _ in range(200)], minlength=3)
    assert draws[1] == 200  # a cold temperature is (nearly) argmax
    draws = np.bincount([text_lstm.sample(p, 1.0, rng) for _ in range(3000)], minlength=3) / 3000
    np.testing.assert_allclose(draws, p, atol=0.04)


def test_example_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        text_lstm.main(["--epochs", "0"])
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_sequential_passes_embedding_mask_to_lstm(rng):
    """Embedding(mask_zero=True) -> LSTM in a Sequential skips the padded steps, as the layers called
    by hand with mask= do (and as Keras does)."""
    from forgenet.layers import LSTM, Dense, Embedding
    ids = rng.integers(1, 9, size=(4, 7)).astype(np.int64)
    ids[0, :3] = 0  # left padding
    ids[1, 5:] = 0  # right padding
    ids[2, ::2] = 0
    model = forgenet.models.Sequential([Embedding(9, 6, mask_zero=True), LSTM(5, return_sequences=True),
                                        LSTM(4), Dense(3)])
    got = model.predict(ids, verbose=0)
    emb, l1, l2, dense = model.layers
    mask = ids != 0
    want = dense(l2(l1(emb(ids), mask=mask), mask=mask))
    assert_close(got, want, rtol=1e-6, atol=1e-6, what="masked stack")
    unmasked = dense(l2(l1(emb(ids))))
    assert np.abs(got - unmasked)[:3].max() > 1e-4  # the mask changed the padded rows
    assert_close(got[3], unmasked[3], rtol=1e-6, atol=1e-6, what="row without padding")
    keras = pytest.importorskip("keras")
    pytest.importorskip("torch")
    kmodel = keras.Sequential([keras.Input((7,), dtype="int64"), keras.layers.Embedding(9, 6, mask_zero=True),
                               keras.layers.LSTM(5, return_sequences=True), keras.layers.LSTM(4),
                               keras.layers.Dense(3)])
    kmodel.set_weights(model.get_weights())
    assert_close(got, kmodel.predict(ids, verbose=0), rtol=1e-4, atol=1e-5, what="masked stack vs Keras")


def test_mask_passes_through_layers_that_support_masking(rng):
    """Keras: Dropout (and Dense, Activation, LayerNormalization) pass the mask on; Flatten-like layers
    without mask support end it."""
    from forgenet.layers import LSTM, Dense, Dropout, Embedding, Layer
    ids = rng.integers(1, 9, size=(3, 6)).astype(np.int64)
    ids[0, :2] = 0
    ids[1, 4:] = 0

    def stack(middle):
        forgenet.utils.set_random_seed(5)
        m = forgenet.models.Sequential([Embedding(9, 4, mask_zero=True), middle, LSTM(3)])
        return m.predict(ids, verbose=0)

    class Plain(Layer):  # supports_masking is False by default
        def call(self, x):
            return x * 1.0  # a new tensor: no mask travels with it (returning x itself would keep x's, as in Keras)

    with_mask = stack(Dropout(0.5))  # inference: Dropout is the identity and passes the mask
    eye = stack(Dense(4, kernel_initializer=lambda shape, dtype=None: np.eye(*shape, dtype=np.float32)))
    assert_close(with_mask, eye, rtol=1e-6, atol=1e-6, what="Dense keeps the mask")
    no_mask = stack(Plain())
    assert np.abs(with_mask - no_mask)[:2].max() > 1e-4  # Plain ended the mask: padded steps count
    assert_close(with_mask[2], no_mask[2], rtol=1e-6, atol=1e-6, what="row without padding")

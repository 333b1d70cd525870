"""The character-level Transformer example: its block (a user Layer subclass with residuals, no backward)
differentiates correctly, sequence targets work with fit, loss falls on the real text, and the script runs."""
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import forgenet
from forgenet.autograd import Tensor, Variable
from forgenet.examples.char_transformer import TransformerBlock, build_model, main, windows
from forgenet.losses import SparseCategoricalCrossentropy

from support import assert_close, numeric_grad


# ---- a float64 numpy reference of the pre-LN block ---------------------------------------------------
def _ln(x, gamma, beta, eps=1e-5):
    m = x.mean(-1, keepdims=True)
    return (x - m) / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps) * gamma + beta


def _gelu(x):
    from math import erf

    return 0.5 * x * (1.0 + np.vectorize(erf)(x / math.sqrt(2.0)))


def _causal_mha(x, wq, bq, wk, bk, wv, bv, wo, bo):
    q = np.einsum("btd,dhk->bhtk", x, wq) + bq[None, :, None]
    k = np.einsum("btd,dhk->bhtk", x, wk) + bk[None, :, None]
    v = np.einsum("btd,dhk->bhtk", x, wv) + bv[None, :, None]
    s = np.einsum("bhtk,bhsk->bhts", q / np.sqrt(wq.shape[-1]), k)
    t = x.shape[1]
    s = np.where(np.tril(np.ones((t, t))) > 0, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bhts,bhsv,hvo->bto", p, v, wo) + bo


def block_ref(block, x, w):
    """The block's forward in float64, reading each weight from `w` (variable id -> float64 array)."""
    get = lambda layer: [w[id(v)] for v in layer.weights]  # noqa: E731
    h = _ln(x, *get(block.ln_1))
    x = x + _causal_mha(h, *get(block.attention))
    k1, b1 = get(block.mlp_in)
    k2, b2 = get(block.mlp_out)
    return x + _gelu(_ln(x, *get(block.ln_2)) @ k1 + b1) @ k2 + b2


def test_transformer_block_gradients_match_finite_differences(rng):
    block = TransformerBlock(8, 2, mlp_dim=12)
    x = rng.standard_normal((2, 5, 8))
    block(x.astype(np.float32))
    block.set_weights([(rng.standard_normal(v.shape) * 0.5).astype(np.float32) for v in block.weights])
    assert len(block.trainable_weights) == 2 + 8 + 2 + 4  # ln_1, attention, ln_2, the MLP's two Dense
    w = {id(v): v.data.astype(np.float64) for v in block.weights}
    g = rng.standard_normal((2, 5, 8))

    xt = Variable(x.astype(np.float32))
    y = block(xt, training=True)  # dropout 0: training changes nothing
    assert_close(y.data, block_ref(block, x, w), rtol=1e-4, atol=1e-4, what="forward")
    (y * Tensor(g.astype(np.float32))).sum().backward()

    def f():
        return float((block_ref(block, x, w) * g).sum())

    assert_close(xt.grad, numeric_grad(f, x, 1e-6), rtol=1e-3, atol=1e-4, what="d/dx")
    for v in block.trainable_weights:
        assert v.grad is not None, v.name
        assert_close(v.grad, numeric_grad(f, w[id(v)], 1e-6), rtol=1e-3, atol=1e-4, what=v.name)


def test_block_is_causal_and_validates(rng):
    block = TransformerBlock(8, 2)
    x = rng.standard_normal((1, 6, 8)).astype(np.float32)
    y = block(x)
    x2 = x.copy()
    x2[:, 4:] += 1.0  # later positions must not change earlier outputs
    y2 = block(x2)
    assert_close(y2[:, :4], y[:, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(y2[:, 4:], y[:, 4:])
    with pytest.raises(ValueError, match=r"d_model \(10\) must be a multiple of num_heads \(4\)"):
        TransformerBlock(10, 4)


def test_sequence_targets_with_rank3_logits(rng):
    # Keras: (batch, T) int targets against (batch, T, vocabulary) predictions, mean over every position
    logits = rng.standard_normal((3, 4, 5)).astype(np.float32)
    t = rng.integers(0, 5, (3, 4))
    z = logits.astype(np.float64)
    lse = np.log(np.exp(z).sum(-1))
    ref = (lse - np.take_along_axis(z, t[..., None], -1)[..., 0]).mean()
    loss = SparseCategoricalCrossentropy(from_logits=True)(t, logits)
    assert_close(loss.data, ref, rtol=1e-5)


def test_fit_learns_a_repeating_text():
    forgenet.utils.set_random_seed(0)
    ids = np.tile(np.array([0, 1, 2, 3, 2, 1, 4]), 60)
    x, y = windows(ids, 12, 128, np.random.default_rng(0))
    model = build_model(5, 12, 1, 2, 16, learning_rate=1e-2)
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    assert model.predict(x[:2], verbose=0).shape == (2, 12, 5)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert loss < 0.5 and acc > 0.8, (loss, acc, history.history)


@pytest.mark.slow
def test_held_out_loss_falls_below_unigram_entropy(shared_data):
    path = shared_data / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        pytest.skip(f"{path} is not present on this machine")
    r = main(["--data", str(path), "--epochs", "2", "--samples", "2048", "--context", "64", "--layers", "2",
              "--d-model", "64", "--length", "100", "--verbose", "0", "--threads", "2"])
    print(f"held-out {r['val_loss']:.4f} nats/char (unigram {r['unigram_entropy']:.4f}), "
          f"{r['epoch_seconds']:.1f} s/epoch")
    assert r["unigram_entropy"] > 3.0  # sanity: the real text
    assert r["val_loss"] < r["unigram_entropy"] - 0.6, r
    assert len(r["generated"]) == 100


def test_example_runs_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FORGENET_DATA"}
    env["HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "forgenet.examples.char_transformer", "--epochs", "1", "--samples", "64",
         "--context", "16", "--layers", "1", "--heads", "2", "--d-model", "16", "--length", "40",
         "--threads", "2", "--verbose", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert re.search(r"held-out loss per character: \d+\.\d+ nats", out.stdout), out.stdout
    assert re.search(r"time per epoch: \d+\.\d+ s", out.stdout), out.stdout
    generated = out.stdout.split("--- generated", 1)[1].split("\n", 1)[1]
    assert len(generated.rstrip("\n")) >= 30, out.stdout

"""A small decoder-only (GPT-style) Transformer trained on tiny Shakespeare, one character at a time.

    python -m forgenet.examples.char_transformer [--epochs N] [--data PATH] [--context 128] [--layers 4]
        [--heads 4] [--d-model 128] [--seed S] [--temperature T] [--length L] [--samples N] [--batch-size B]

The block is a plain `forgenet.layers.Layer` subclass composing LayerNormalization, causal
MultiHeadAttention, a GELU MLP (two Dense) and Dropout with pre-LN residual connections; it has no
backward of its own: autograd differentiates its `call`, so `fit` trains it.

The model predicts the next character at every position: x is (batch, context) character ids,
y the same window shifted by one, predictions (batch, context, vocabulary) logits, and the loss
sparse categorical cross-entropy averaged over every position (Keras accepts rank-2 targets against
rank-3 predictions, and so does forgenet). It reports the held-out loss per character (nats and
bits) on the last 10% of the text, then samples text. Without --data it reads tiny Shakespeare
from $FORGENET_DATA or ~/.forgenet/datasets, else the bundled 150,000-character excerpt
(`forgenet.datasets.tiny_shakespeare.load_data`); characters are encoded by `forgenet.utils.CharVocabulary`.

The full configuration of the issue is `--context 128 --layers 4 --heads 4 --d-model 128` (with
`--samples 4096 --epochs 10` or more on the whole text). The defaults are smaller (context 64,
2 layers, d_model 64, 3072 windows per epoch, 3 epochs: 288 steps of 32 windows) so that a run takes
about 30 s on two idle cores (several times that on a busy machine).
"""
from __future__ import annotations

import argparse
import math
import statistics

import numpy as np

import forgenet
from forgenet.examples import _distributed
from forgenet.examples._distributed import say
from forgenet.examples._timing import EpochTimer
from forgenet.datasets import tiny_shakespeare
from forgenet.layers import Dense, Dropout, Layer, LayerNormalization, MultiHeadAttention, TokenAndPositionEmbedding
from forgenet.losses import SparseCategoricalCrossentropy
from forgenet.models import Model
from forgenet.optimizers import Adam
from forgenet.utils import CharVocabulary, sample_logits, unigram_entropy


class TransformerBlock(Layer):
    """Pre-LN decoder block: x + attn(ln(x)), then x + mlp(ln(x)), attention causal."""

    def __init__(self, d_model, num_heads, mlp_dim=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if d_model % num_heads:
            raise ValueError(f"{self.name}: d_model ({d_model}) must be a multiple of num_heads ({num_heads})")
        self.d_model, self.num_heads, self.dropout = d_model, num_heads, dropout
        self.mlp_dim = mlp_dim or 4 * d_model
        self.ln_1 = LayerNormalization(epsilon=1e-5)
        self.attention = MultiHeadAttention(num_heads, d_model // num_heads)
        self.ln_2 = LayerNormalization(epsilon=1e-5)
        self.mlp_in = Dense(self.mlp_dim, activation="gelu")
        self.mlp_out = Dense(d_model)
        self.drop_1 = Dropout(dropout)
        self.drop_2 = Dropout(dropout)

    def call(self, x, training=False):
        h = self.ln_1(x)
        x = x + self.drop_1(self.attention(h, h, use_causal_mask=True), training=training)
        h = self.mlp_out(self.mlp_in(self.ln_2(x)))
        return x + self.drop_2(h, training=training)

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads,
                "mlp_dim": self.mlp_dim, "dropout": self.dropout}


class CharTransformer(Model):
    """ids (batch, T <= context) -> next-character logits (batch, T, vocabulary)."""

    input_dtype = None  # character ids stay integers

    def __init__(self, vocabulary_size, context=128, num_layers=4, num_heads=4, d_model=128, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.context = context
        self.embedding = TokenAndPositionEmbedding(vocabulary_size, context, d_model)
        self.blocks = [TransformerBlock(d_model, num_heads, dropout=dropout) for _ in range(num_layers)]
        self.ln_f = LayerNormalization(epsilon=1e-5)
        self.head = Dense(vocabulary_size)

    def call(self, ids, training=False):
        x = self.embedding(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def build_model(vocabulary_size, context, num_layers, num_heads, d_model, dropout=0.0,
                learning_rate=3e-3) -> CharTransformer:
    model = CharTransformer(vocabulary_size, context, num_layers, num_heads, d_model, dropout)
    model.compile(optimizer=Adam(learning_rate, global_clipnorm=1.0),
                  loss=SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.build((None, context))
    return model


def windows(ids: np.ndarray, context: int, count: int | None, rng) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) windows of `context` ids, y shifted by one: `count` at random offsets, or (count None)
    every non-overlapping window in order."""
    last = len(ids) - context - 1
    if last < 0:
        raise ValueError(f"the text ({len(ids)} characters) is shorter than context + 1 = {context + 1}")
    starts = np.arange(0, last + 1, context) if count is None else rng.integers(0, last + 1, count)
    idx = starts[:, None] + np.arange(context + 1)
    w = ids[idx]
    return w[:, :-1], w[:, 1:]


def generate(model: CharTransformer, prompt: np.ndarray, length: int, temperature: float, rng) -> np.ndarray:
    """Sample `length` ids after `prompt`, feeding the last `context` ids each step."""
    ids = list(int(i) for i in prompt)
    for _ in range(length):
        window = np.asarray(ids[-model.context:], np.int64)[None]
        ids.append(sample_logits(np.asarray(model(window))[0, -1], temperature, rng))
    return np.asarray(ids[len(prompt):], np.int64)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m forgenet.examples.char_transformer",
                                 description="Train a character-level decoder-only Transformer on tiny Shakespeare.")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--data", default=None, help="tiny Shakespeare input.txt or its folder (default: $FORGENET_DATA/tinyshakespeare, ~/.forgenet/datasets/tinyshakespeare, else the bundled 150,000-character excerpt)")
    ap.add_argument("--context", type=int, default=64, help="characters per window (issue: 128)")
    ap.add_argument("--layers", type=int, default=2, help="Transformer blocks (issue: 4)")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=64, help="model width (issue: 128)")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--samples", type=int, default=3072, help="training windows per epoch (random offsets)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--learning-rate", type=float, default=3e-3)
    ap.add_argument("--eval-windows", type=int, default=64, help="held-out windows evaluated (at most)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: greedy)")
    ap.add_argument("--length", type=int, default=300, help="characters to generate")
    ap.add_argument("--threads", type=int, default=None, help="kernel threads (default: OMP_NUM_THREADS, else all cores)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                    help="where to train (cuda: our CUDA kernels on CuPy arrays)")
    ap.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="fit's progress output")
    _distributed.add_flag(ap)
    args = ap.parse_args(argv)
    _distributed.setup(args)
    for name in ("epochs", "context", "layers", "heads", "d_model", "samples", "batch_size", "eval_windows"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.d_model % args.heads:
        ap.error(f"--d-model ({args.d_model}) must be a multiple of --heads ({args.heads})")
    if args.length < 0:
        ap.error(f"--length must be >= 0, got {args.length}")

    if args.threads is not None:
        forgenet.set_num_threads(args.threads)
    forgenet.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    text = tiny_shakespeare.load_data(args.data)
    vocab = CharVocabulary(text)
    ids = vocab.encode(text)
    split = int(len(ids) * 0.9)
    x_train, y_train = windows(ids[:split], args.context, args.samples, rng)
    x_val, y_val = windows(ids[split:], args.context, None, rng)
    x_val, y_val = x_val[:args.eval_windows], y_val[:args.eval_windows]
    baseline = unigram_entropy(ids[:split], vocab.size)
    say(f"{len(text)} characters, vocabulary {vocab.size}; {len(x_train)} training windows of {args.context}, "
          f"{len(x_val)} held-out; {forgenet.get_num_threads()} threads")

    model = build_model(vocab.size, args.context, args.layers, args.heads, args.d_model, args.dropout,
                        args.learning_rate)
    model.to(args.device)
    say(f"{args.layers} blocks, {args.heads} heads, d_model {args.d_model}: {model.count_params()} parameters")
    timer = EpochTimer()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose,
                        callbacks=[timer])
    val_loss, val_acc = model.evaluate(x_val, y_val, batch_size=args.batch_size, verbose=0)
    per_epoch = statistics.median(timer.seconds)
    say(f"time per epoch: {per_epoch:.2f} s ({len(x_train) * args.context / per_epoch:.0f} characters/s; median "
          f"of {len(timer.seconds)}), final training loss {history.history['loss'][-1]:.4f}")
    say(f"held-out loss per character: {val_loss:.4f} nats ({val_loss / math.log(2):.3f} bits), "
          f"accuracy {val_acc:.3f}; unigram entropy {baseline:.4f} nats")

    prompt = ids[split:split + min(args.context, 32)]
    sample = generate(model, prompt, args.length, args.temperature, rng)
    generated = vocab.decode(sample)
    say(f"--- generated (temperature {args.temperature}) after the prompt {vocab.decode(prompt)!r}:")
    say(generated)
    return {"val_loss": float(val_loss), "val_accuracy": float(val_acc), "unigram_entropy": baseline,
            "epoch_seconds": per_epoch, "train_loss": float(history.history["loss"][-1]), "generated": generated}


if __name__ == "__main__":
    main()

"""The article's character-level text-generation model (Embedding -> LSTM -> LSTM -> softmax) on
tiny Shakespeare, unchanged, on forgenet.

    python -m forgenet.examples.text_lstm [--epochs N] [--data PATH] [--max-length 40] [--temperature T]
        [--seed S] [--length L] [--prompt P] [--sparse] [--max-sequences N] [--threads T]

Without --data it uses $FORGENET_DATA/tinyshakespeare/input.txt or ~/.forgenet/datasets/..., else the
bundled excerpt (the first ~150,000 characters). The last 10% of the text is held out; the held-out loss
is the mean next-character cross-entropy in nats per character. Targets are one-hot as in the article
(categorical_crossentropy); --sparse uses integer targets and sparse_categorical_crossentropy instead.
The default budget (2 epochs on at most 40,000 windows: all of the excerpt's ~45,000 but a few) takes
about a minute on two idle cores.
"""
from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

import forgenet
from forgenet.examples import _distributed
from forgenet.examples._distributed import say
from forgenet.datasets import tiny_shakespeare
from forgenet.layers import LSTM, Dense, Embedding
from forgenet.models import Sequential
from forgenet.utils import CharVocabulary, sample_logits, unigram_entropy


def build_model(vocab_size: int, embedding_dim: int = 64, max_length: int = 40, sparse: bool = False) -> Sequential:
    model = Sequential()
    model.add(Embedding(vocab_size, embedding_dim, input_length=max_length))
    model.add(LSTM(128, return_sequences=True))
    model.add(LSTM(128))
    model.add(Dense(vocab_size, activation='softmax'))
    loss = 'sparse_categorical_crossentropy' if sparse else 'categorical_crossentropy'
    model.compile(optimizer='adam', loss=loss, metrics=['accuracy'])
    return model


def split_text(text: str, max_length: int, held_out: float = 0.1):
    """Train on the first 90% of the text, hold out the rest (plus the max_length characters before it,
    so that the first held-out character has a full window)."""
    cut = int(len(text) * (1.0 - held_out))
    return text[:cut], text[max(0, cut - max_length):]


def sample(probs: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Draw from softmax(log(p) / T): T < 1 sharpens, T > 1 flattens, T -> 0 is argmax."""
    return sample_logits(np.log(np.maximum(np.asarray(probs, np.float64), 1e-12)), temperature, rng)


def generate(model, vocab: CharVocabulary, prompt: str, length: int, max_length: int, temperature: float,
             rng: np.random.Generator) -> str:
    """Continue `prompt` by `length` characters, feeding the model the last max_length each time
    (a shorter prompt is fed as it is: the LSTMs take any number of steps)."""
    ids = list(vocab.encode(prompt))
    for _ in range(length):
        window = np.asarray(ids[-max_length:], np.int64)[None]
        probs = model(window, training=False)[0]
        ids.append(sample(probs, temperature, rng))
    return vocab.decode(ids[len(prompt):])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m forgenet.examples.text_lstm",
                                 description="Train the article's character-level LSTM on tiny Shakespeare.")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--data", default=None, help="the text file, or a folder holding input.txt")
    ap.add_argument("--max-length", type=int, default=40, help="characters of context per window")
    ap.add_argument("--step", type=int, default=3, help="characters between window starts")
    ap.add_argument("--embedding-dim", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-sequences", type=int, default=40_000,
                    help="train on at most this many windows, drawn at random (0: all)")
    ap.add_argument("--max-eval", type=int, default=2_000, help="held-out windows to score (0: all)")
    ap.add_argument("--sparse", action="store_true", help="integer targets, sparse_categorical_crossentropy")
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--length", type=int, default=300, help="characters to generate")
    ap.add_argument("--prompt", default=None, help="text to continue (default: the start of the held-out text)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="kernel threads (default: OMP_NUM_THREADS, else all cores)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                    help="where to train (cuda: our CUDA kernels on CuPy arrays)")
    ap.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="fit's progress output")
    _distributed.add_flag(ap)
    args = ap.parse_args(argv)
    _distributed.setup(args)
    for name in ("epochs", "max_length", "step", "embedding_dim", "batch_size"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.length < 0 or args.max_sequences < 0 or args.max_eval < 0:
        ap.error("--length, --max-sequences and --max-eval must not be negative")

    if args.threads is not None:
        forgenet.set_num_threads(args.threads)
    forgenet.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    text = tiny_shakespeare.load_data(args.data)
    vocab = CharVocabulary(text)
    train_text, held_text = split_text(text, args.max_length)
    x, y = tiny_shakespeare.make_sequences(vocab.encode(train_text), args.max_length, args.step)
    if args.max_sequences and len(x) > args.max_sequences:
        keep = np.sort(rng.choice(len(x), args.max_sequences, replace=False))
        x, y = x[keep], y[keep]
    # every held-out character is scored once (step 1), or an evenly spread subset of them
    xv, yv = tiny_shakespeare.make_sequences(vocab.encode(held_text), args.max_length, 1)
    if args.max_eval and len(xv) > args.max_eval:
        pick = np.linspace(0, len(xv) - 1, args.max_eval).astype(np.int64)
        xv, yv = xv[pick], yv[pick]
    onehot = np.eye(vocab.size, dtype=np.float32)
    target, val_target = (y, yv) if args.sparse else (onehot[y], onehot[yv])
    baseline = unigram_entropy(vocab.encode(text), vocab.size)
    say(f"text: {len(text):,} characters, vocabulary {vocab.size}; train windows {x.shape}, held-out windows "
          f"{xv.shape}; unigram entropy {baseline:.3f} nats/char; {forgenet.get_num_threads()} threads")

    with warnings.catch_warnings():  # the article's input_length: Keras 3 ignores it too, and says so
        warnings.filterwarnings("ignore", message="Argument `input_length` is deprecated")
        model = build_model(vocab.size, args.embedding_dim, args.max_length, args.sparse).to(args.device)
    t0 = time.perf_counter()
    history = model.fit(x, target, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
    seconds = time.perf_counter() - t0
    for epoch, (loss, acc) in enumerate(zip(history.history["loss"], history.history["accuracy"]), 1):
        say(f"epoch {epoch}: loss {loss:.4f} nats/char, accuracy {acc:.4f}")
    val_loss, val_acc = model.evaluate(xv, val_target, batch_size=256, verbose=0)
    say(f"trained in {seconds:.1f} s ({len(x) * args.epochs / seconds:.0f} windows/s); held-out loss "
          f"{val_loss:.4f} nats/char ({val_loss / math.log(2):.3f} bits), accuracy {val_acc:.4f}")

    prompt = args.prompt if args.prompt is not None else held_text[args.max_length:2 * args.max_length]
    if not prompt:
        ap.error("--prompt must not be empty")
    try:
        vocab.encode(prompt)
    except ValueError as e:
        ap.error(f"--prompt: {e}")
    generated = generate(model, vocab, prompt, args.length, args.max_length, args.temperature, rng)
    say(f"--- generated (temperature {args.temperature}) ---\n{prompt}{generated}\n---")
    return {"loss": [float(v) for v in history.history["loss"]], "val_loss": float(val_loss),
            "val_accuracy": float(val_acc), "unigram_entropy": baseline, "generated": generated,
            "prompt": prompt, "seconds": seconds, "vocab_size": vocab.size}


if __name__ == "__main__":
    main()

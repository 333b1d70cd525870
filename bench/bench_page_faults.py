"""Minor page faults per training / inference step, in the default environment (no malloc tuning),
on data made like full MNIST (60,000 images): the measure of allocator churn. Target: <= 100 per step.

    python bench/bench_page_faults.py [--steps 150] [--model cnn|lstm|both]

Faults are read from /proc/self/stat (field minflt) around the steps after a warm-up of 20; counts,
not times, so a busy machine does not change them much.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

import forgenet
from forgenet import layers


def minflt() -> int:
    with open("/proc/self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


class Faults(forgenet.callbacks.Callback):
    def __init__(self, warmup, steps):
        super().__init__()
        self.warmup, self.steps, self.seen, self.start, self.per_step = warmup, steps, 0, None, None

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == self.warmup:
            self.start = minflt()

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.warmup + self.steps:
            self.per_step = (minflt() - self.start) / self.steps
            self.model.stop_training = True


def cnn(steps):
    rng = np.random.default_rng(0)
    x = rng.random((60000, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    model = forgenet.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    cb = Faults(20, steps)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[cb])
    xs = x[:32 * (steps + 20)]
    model.predict(xs[:32 * 20], batch_size=32, verbose=0)
    f0 = minflt()
    model.predict(xs, batch_size=32, verbose=0)
    return {"train_faults_per_step": cb.per_step, "predict_faults_per_batch": (minflt() - f0) / (len(xs) // 32)}


def lstm(steps):
    rng = np.random.default_rng(0)
    n = max(20000, 128 * (steps + 21))  # enough batches for the warm-up and the counted steps
    x = rng.integers(0, 60, (n, 40))
    y = rng.integers(0, 60, n)
    model = forgenet.Sequential([layers.Embedding(60, 64), layers.LSTM(128, return_sequences=True), layers.LSTM(128),
                                 layers.Dense(60, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    cb = Faults(20, steps)
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, callbacks=[cb])
    assert cb.per_step is not None, "bench_page_faults: the epoch ended before the counted steps"
    return {"train_faults_per_step": cb.per_step}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--model", choices=("cnn", "lstm", "both"), default="both")
    args = ap.parse_args(argv)
    out = {"isa": forgenet._C.isa(), "threads": forgenet.get_num_threads()}
    if args.model in ("cnn", "both"):
        out["seed_cnn"] = cnn(args.steps)
    if args.model in ("lstm", "both"):
        out["text_lstm"] = lstm(args.steps)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()

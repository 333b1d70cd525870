"""One rank of a data-parallel test job (run by mpiexec from test_data_parallel.py), or the one-process
twin on the same global batches.

    python dist_worker.py {dp|single} {cnn|lstm} OUTDIR [--epochs E] [--raise-at-step K] [--checkpoint P]
                          [--resume P]

Writes OUTDIR/weights_<rank>.npz and OUTDIR/history_<rank>.json.
"""
import argparse
import json
import os
import sys

import numpy as np

import forgenet
from forgenet import layers

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=("dp", "single"))
ap.add_argument("model", choices=("cnn", "lstm"))
ap.add_argument("out")
ap.add_argument("--epochs", type=int, default=2)
ap.add_argument("--batch-size", type=int, default=32)
ap.add_argument("--samples", type=int, default=80)  # 80 / 32: the last global batch is uneven (16)
ap.add_argument("--raise-at-step", type=int, default=None)
ap.add_argument("--checkpoint", default=None)
ap.add_argument("--resume", default=None)
ap.add_argument("--predict", action="store_true", help="also write predictions, sharded and in one process")
args = ap.parse_args()

if args.mode == "dp":
    forgenet.distribution.set_distribution(forgenet.distribution.DataParallel())
rank = forgenet.distribution.rank() if args.mode == "dp" else 0
forgenet.utils.set_random_seed(7)

rng = np.random.default_rng(0)
if args.model == "cnn":
    x = rng.random((args.samples, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    model = forgenet.Sequential([
        layers.Conv2D(8, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(16, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dense(32, activation="relu"), layers.Dense(10, activation="softmax")])
else:
    x = rng.integers(0, 30, (args.samples, 12))
    y = rng.integers(0, 30, args.samples)
    model = forgenet.Sequential([layers.Embedding(30, 16), layers.LSTM(24, return_sequences=True), layers.LSTM(24),
                                 layers.Dense(30, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
if args.resume:
    model = forgenet.models.load_model(args.resume)

callbacks = []
if args.raise_at_step is not None and rank == 1:
    class Boom(forgenet.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == args.raise_at_step:
                raise RuntimeError(f"rank 1 fails on purpose at step {batch}")

    callbacks.append(Boom())
if args.checkpoint:
    callbacks.append(forgenet.callbacks.ModelCheckpoint(args.checkpoint))

history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0, callbacks=callbacks)
os.makedirs(args.out, exist_ok=True)
np.savez(os.path.join(args.out, f"weights_{rank}.npz"), *model.get_weights())
with open(os.path.join(args.out, f"history_{rank}.json"), "w") as f:
    json.dump({k: [float(v) for v in vs] for k, vs in history.history.items()}, f)
if args.predict:  # sharded over the ranks (33: the last batch is uneven), then this rank alone
    sharded = model.predict(x, batch_size=33, verbose=0)
    forgenet.distribution.set_distribution(None)
    alone = model.predict(x, batch_size=33, verbose=0)
    np.savez(os.path.join(args.out, f"predict_{rank}.npz"), sharded=sharded, alone=alone)
print(f"rank {rank} done", file=sys.stderr)

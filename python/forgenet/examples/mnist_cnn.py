"""The classic Keras MNIST CNN, unchanged, on forgenet.

    python -m forgenet.examples.mnist_cnn [--epochs N] [--batch-size B] [--data DIR] [--seed S] [--threads T]

Without --data it uses $FORGENET_DATA/mnist or ~/.forgenet/datasets/mnist, else the bundled sample
(6000 training and 1000 test images). The article trains for 10 epochs; the default is 3 so that a
run on the sample takes a minute or two on two cores.
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np

import forgenet
from forgenet.examples import _distributed
from forgenet.examples._distributed import say
from forgenet.examples._timing import EpochTimer
from forgenet.datasets import mnist
from forgenet.layers import Conv2D, Dense, Flatten, MaxPooling2D
from forgenet.models import Sequential


def build_model() -> Sequential:
    model = Sequential()
    model.add(Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dense(64, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model


def prepare(x: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1]."""
    return (x.astype(np.float32) / 255.0)[..., None]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m forgenet.examples.mnist_cnn",
                                 description="Train the Keras MNIST CNN on forgenet.")
    ap.add_argument("--epochs", type=int, default=3, help="training epochs (the article: 10; default 3)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--data", default=None, help="folder with the four MNIST IDX files (gzipped or not)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="kernel threads (default: OMP_NUM_THREADS, else all cores)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                    help="where to train (cuda: our CUDA kernels on CuPy arrays)")
    ap.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="fit's progress output")
    _distributed.add_flag(ap)
    args = ap.parse_args(argv)
    _distributed.setup(args)
    if args.epochs < 1:
        ap.error(f"--epochs must be at least 1, got {args.epochs}")

    if args.threads is not None:
        forgenet.set_num_threads(args.threads)
    forgenet.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = mnist.load_data(args.data)
    x_train, x_test = prepare(x_train), prepare(x_test)
    say(f"train {x_train.shape}, test {x_test.shape}, {forgenet.get_num_threads()} threads, device {args.device}")

    model = build_model().to(args.device)
    timer = EpochTimer()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        verbose=args.verbose, callbacks=[timer])
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test, verbose=args.verbose)
    predicted = predictions.argmax(axis=1)

    per_epoch = statistics.median(timer.seconds) if timer.seconds else float("nan")
    say(f"time per epoch: {per_epoch:.2f} s ({len(x_train) / per_epoch:.0f} images/s; median of "
          f"{len(timer.seconds)}), final training loss {history.history['loss'][-1]:.4f}")
    say(f"test loss {loss:.4f}, test accuracy: {acc:.4f}")
    say("first predictions (predicted/true): "
          + " ".join(f"{p}/{t}" for p, t in zip(predicted[:10], y_test[:10])))
    return {"test_accuracy": float(acc), "test_loss": float(loss), "epoch_seconds": per_epoch,
            "predicted_accuracy": float((predicted == y_test).mean())}


if __name__ == "__main__":
    main()

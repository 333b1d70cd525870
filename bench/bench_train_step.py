"""Training steps through `fit`: the Keras MNIST convnet at batch 32 (forgenet vs a torch loop with
the same layers and Adam), and a tiny MLP whose kernels are negligible, which measures what the
framework itself costs per step (batching, graph, loss, optimizer, metrics, callbacks).

    python -m pytest bench/bench_train_step.py --benchmark-columns=min,median,mean --benchmark-sort=name
Both libraries on 2 threads. Times are per epoch of STEPS steps; divide by STEPS for one step.

    python bench/bench_train_step.py [cnn|text|mlp ...] [--threads 1] [--steps 64] [--batch 32]
splits forgenet's training step (fit, seed CNN / text model / tiny MLP) into the time inside the
compiled kernels (every forgenet._C call, timed by a wrapper) and the rest: the Python side (layers,
autograd tape, validation, loss, optimizer, metrics) and its numpy temporaries. Both are the calling
thread's CPU time (time.thread_time), which other processes on a loaded machine do not inflate; at
--threads 1 (the default here) that thread does all the kernel work too. Medians over 3 epochs.
"""
import os
import sys
import time

import numpy as np

try:
    import pytest
except ImportError:  # the overhead report runs without pytest
    pytest = None

import forgenet
from forgenet.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from forgenet.models import Sequential

BATCH, STEPS = 32, 20


def data(shape, classes=10, n=BATCH * STEPS):
    rng = np.random.default_rng(0)
    return rng.random((n,) + shape).astype(np.float32), rng.integers(0, classes, n)


def convnet():
    return Sequential([Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(2),
                       Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dropout(0.5),
                       Dense(10, activation="softmax")])


def _fixture(fn):
    return pytest.fixture(autouse=True)(fn) if pytest else fn


@_fixture
def two_threads():
    forgenet.set_num_threads(2)
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        pass


def run_fit(benchmark, model, x, y):
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[: 2 * BATCH], y[: 2 * BATCH], batch_size=BATCH, verbose=0)  # build + warm up
    benchmark.extra_info["steps"] = STEPS
    benchmark.pedantic(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), rounds=5, iterations=1)


def test_convnet_forgenet(benchmark):
    forgenet.utils.set_random_seed(0)
    run_fit(benchmark, convnet(), *data((28, 28, 1)))


def test_convnet_torch(benchmark):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    x, y = data((28, 28, 1))
    xt, yt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)

    def epoch():  # what fit does per step: shuffle, forward, loss, backward, step, running loss/accuracy
        order = torch.randperm(len(xt))
        total = correct = 0.0
        for i in range(STEPS):
            idx = order[i * BATCH:(i + 1) * BATCH]
            out = net(xt[idx])
            loss = nn.functional.cross_entropy(out, yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * BATCH
            correct += (out.argmax(1) == yt[idx]).sum().item()
        return total, correct

    net.train()
    epoch()
    benchmark.extra_info["steps"] = STEPS
    benchmark.pedantic(epoch, rounds=5, iterations=1)


def test_tiny_mlp_overhead_forgenet(benchmark):
    forgenet.utils.set_random_seed(0)
    model = Sequential([Dense(16, activation="relu", input_shape=(8,)), Dense(4, activation="softmax")])
    run_fit(benchmark, model, *data((8,), classes=4))


def test_tiny_mlp_overhead_torch(benchmark):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    x, y = data((8,), classes=4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        order = torch.randperm(len(xt))
        total = correct = 0.0
        for i in range(STEPS):
            idx = order[i * BATCH:(i + 1) * BATCH]
            out = net(xt[idx])
            loss = nn.functional.cross_entropy(out, yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * BATCH
            correct += (out.argmax(1) == yt[idx]).sum().item()
        return total, correct

    epoch()
    benchmark.pedantic(epoch, rounds=5, iterations=1)


# ---- the Python-overhead report --------------------------------------------------------------------

class KernelClock:
    """Wraps every forgenet._C function (the kernels reach them as attributes of the module) so that the
    thread CPU time spent inside them adds up in .seconds; .calls counts them."""

    def __init__(self):
        from forgenet import _C
        self.mod, self.seconds, self.calls, self.saved = _C, 0.0, 0, {}
        for name in dir(_C):
            fn = getattr(_C, name)
            if callable(fn) and not name.startswith("_") and type(fn).__name__ == "builtin_function_or_method":
                self.saved[name] = fn
                setattr(_C, name, self._wrap(fn))

    def _wrap(self, fn):
        clock = time.thread_time

        def timed(*a, **k):
            t0 = clock()
            try:
                return fn(*a, **k)
            finally:
                self.seconds += clock() - t0
                self.calls += 1
        return timed

    def restore(self):
        for name, fn in self.saved.items():
            setattr(self.mod, name, fn)


def _models(batch, steps):
    from forgenet.examples import mnist_cnn, text_lstm
    rng = np.random.default_rng(0)
    n = batch * steps
    x = rng.random((n, 28, 28, 1)).astype(np.float32)
    yield "cnn", mnist_cnn.build_model(), x, rng.integers(0, 10, n)
    vocab = 60
    m = text_lstm.build_model(vocab, 64, 40)
    yield "text", m, rng.integers(0, vocab, (n, 40)), np.eye(vocab, dtype=np.float32)[rng.integers(0, vocab, n)]
    m = Sequential([Dense(16, activation="relu", input_shape=(8,)), Dense(4, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    yield "mlp", m, rng.random((n, 8)).astype(np.float32), rng.integers(0, 4, n)


def overhead_report(which, threads=1, steps=64, batch=32, epochs=3):
    import statistics
    forgenet.set_num_threads(threads)
    print(f"forgenet training step split ({threads} thread(s), batch {batch}, {steps} steps an epoch, "
          f"medians of {epochs} epochs; thread CPU time per step)")
    print(f"{'model':6}{'step':>11}{'kernels':>11}{'rest':>11}{'kernel calls':>14}")
    for name, model, x, y in _models(batch, steps):
        if name not in which:
            continue
        forgenet.utils.set_random_seed(0)
        model.fit(x[:2 * batch], y[:2 * batch], batch_size=batch, verbose=0)  # build + warm up
        rows = []
        for _ in range(epochs):
            clock = KernelClock()
            try:
                t0 = time.thread_time()
                model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
                total = time.thread_time() - t0
            finally:
                clock.restore()
            rows.append((total / steps, clock.seconds / steps, clock.calls / steps))
        total, kern, calls = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"{name:6}{total * 1e3:>8.2f} ms{kern * 1e3:>8.2f} ms{(total - kern) * 1e3:>8.2f} ms{calls:>14.0f}")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="forgenet's training step: kernels vs the rest")
    ap.add_argument("models", nargs="*", help="cnn, text, mlp (default: all three)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    bad = set(a.models) - {"cnn", "text", "mlp"}
    if bad:
        ap.error(f"unknown models {sorted(bad)}; choose from cnn, text, mlp")
    overhead_report(a.models or ["cnn", "text", "mlp"], a.threads, a.steps, a.batch, a.epochs)

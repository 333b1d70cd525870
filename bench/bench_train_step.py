"""Training steps through `fit`: the Keras MNIST convnet at batch 32 (forgenet vs a torch loop with
the same layers and Adam), and a tiny MLP whose kernels are negligible, which measures what the
framework itself costs per step (batching, graph, loss, optimizer, metrics, callbacks).

    python -m pytest bench/bench_train_step.py --benchmark-columns=min,median,mean --benchmark-sort=name
Both libraries on 2 threads. Times are per epoch of STEPS steps; divide by STEPS for one step.
"""
import numpy as np
import pytest

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


@pytest.fixture(autouse=True)
def two_threads():
    forgenet.set_num_threads(2)
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        pass


def run_fit(benchmark, model, x, y):
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
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

"""One training epoch and predict throughput of the Keras MNIST CNN: forgenet vs PyTorch and tf.keras (CPU).

    python bench/bench_cnn.py            # a short table with medians and ratios
    python -m pytest bench/bench_cnn.py  # the same measurements under pytest-benchmark (torch in-process only)

All sides get 2 threads, the same architecture, Adam (lr 1e-3, eps 1e-7), batch 32, a reshuffle
each epoch, and the same data already in memory as float32. The epoch compares forgenet (this
process) with the peers in their best configuration, each in its own process with the tuned malloc
settings (forgenet.bench.peers.TUNED_MALLOC): torch NCHW, torch channels_last, and tf.keras when
BENCH_TF_PYTHON names an interpreter with tensorflow (e.g. /tmp/tf-venv/bin/python); the samples
are taken in turns and the "best peer" is the fastest median. Also shown: torch in this process with
the default malloc (the earlier comparison). Predict compares with that in-process torch.
Environment:
  BENCH_CNN_N        training images per epoch (default 6000; up to 60000 needs the full MNIST)
  BENCH_CNN_REPEATS  timed epochs per framework (default 3; predict is repeated twice as often)
  BENCH_TORCH_LAYOUT the in-process torch's memory layout: "nchw" (default) or "nhwc" (channels_last)
  BENCH_TF_PYTHON    the interpreter for the tf.keras peer (absent: no tf.keras row)
  BENCH_THREADS      threads for every framework (default 2; 1 for single-thread ratios under load)
Full MNIST comes from $FORGENET_SHARED_DATA/mnist, ../shared/data/mnist beside the checkout, or
wherever forgenet.datasets.mnist.load_data() finds it; the bundled sample (6000 + 1000) otherwise.
"""
from __future__ import annotations

import os
import pathlib
import statistics
import time
import warnings

import numpy as np

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
BATCH = 32
N = int(os.environ.get("BENCH_CNN_N", "6000"))
REPEATS = int(os.environ.get("BENCH_CNN_REPEATS", "3"))
LAYOUT = os.environ.get("BENCH_TORCH_LAYOUT", "nchw")


def load(n: int = N):
    """(x_train[:n], y_train[:n], x_test) as float32 NHWC in [0, 1] and int64 labels."""
    from forgenet.datasets import mnist
    repo = pathlib.Path(__file__).resolve().parents[1]
    dirs = [pathlib.Path(os.environ["FORGENET_SHARED_DATA"]) / "mnist"] if "FORGENET_SHARED_DATA" in os.environ else []
    dirs.append(repo.parent / "shared" / "data" / "mnist")
    full = next((d for d in dirs if d.is_dir()), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # falling back to the bundled sample is fine for timing
        (xtr, ytr), (xte, _) = mnist.load_data(full) if full else mnist.load_data()
    if n > len(xtr):
        raise SystemExit(f"BENCH_CNN_N={n} but only {len(xtr)} training images were found "
                         f"(looked for full MNIST in {[str(d) for d in dirs]} and the usual places)")
    f = lambda a: (a.astype(np.float32) / 255.0)[..., None]  # noqa: E731
    return f(xtr[:n]), ytr[:n].astype(np.int64), f(xte)


# ---- forgenet ------------------------------------------------------------------------------------

def forgenet_model(seed=0):
    import forgenet
    from forgenet.examples.mnist_cnn import build_model
    forgenet.set_num_threads(THREADS)
    forgenet.utils.set_random_seed(seed)
    return build_model()


def forgenet_epoch(model, x, y):
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


def forgenet_predict(model, x):
    return model.predict(x, batch_size=BATCH, verbose=0)


# ---- torch ---------------------------------------------------------------------------------------

class TorchCNN:
    def __init__(self, seed=0):
        import torch
        from torch import nn
        torch.set_num_threads(THREADS)
        torch.manual_seed(seed)
        self.torch = torch
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
        for m in self.net:  # Keras's initialisation: glorot_uniform kernels, zero biases
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        self.fmt = torch.channels_last if LAYOUT == "nhwc" else torch.contiguous_format
        self.net = self.net.to(memory_format=self.fmt)
        # softmax folded into the loss, as forgenet's fused softmax + cross-entropy
        self.loss = nn.CrossEntropyLoss()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)

    def tensor(self, x_nhwc):
        # NHWC float32 -> NCHW logical shape in the chosen memory layout (done once, outside timing)
        return self.torch.from_numpy(x_nhwc).permute(0, 3, 1, 2).contiguous(memory_format=self.fmt)

    def epoch(self, x, y):
        torch = self.torch
        self.net.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = x[idx].contiguous(memory_format=self.fmt), y[idx]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss(self.net(xb), yb)
            loss.backward()
            self.opt.step()

    def predict(self, x):
        torch = self.torch
        self.net.eval()
        with torch.inference_mode():
            return torch.cat([torch.softmax(self.net(x[i:i + BATCH]), 1) for i in range(0, len(x), BATCH)])


# ---- measurement ---------------------------------------------------------------------------------

def timed(fns: dict, repeats):
    """Seconds per call of each fn, the fns taking turns so that load drifting on a shared machine
    hits both sides alike."""
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def peers(x, y):
    """The best-configuration peers, each a ChildPeer (own process, tuned malloc)."""
    from forgenet.bench.peers import ChildPeer, tf_python
    out = {f"torch {layout} (own process)": ChildPeer("torch", "cnn", {"x": x, "y": y}, layout=layout,
                                                       threads=THREADS, batch=BATCH)
           for layout in ("nchw", "nhwc")}
    if tf_python():
        out["tf.keras (own process)"] = ChildPeer("tf", "cnn", {"x": x, "y": y}, threads=THREADS, batch=BATCH)
    return out


def measure(repeats=REPEATS):
    import torch
    x, y, xte = load()
    tm = TorchCNN()
    tx, ty, txte = tm.tensor(x), torch.from_numpy(y), tm.tensor(xte)
    fm = forgenet_model()
    forgenet_epoch(fm, x[:BATCH * 4], y[:BATCH * 4])  # build + warm up both sides
    tm.epoch(tx[:BATCH * 4], ty[:BATCH * 4])
    children = peers(x, y)
    try:
        epoch = {"forgenet": lambda: forgenet_epoch(fm, x, y), f"torch {LAYOUT} (this process)": lambda: tm.epoch(tx, ty),
                 **children}
        res = {"epoch": timed(epoch, repeats),
               "predict": timed({"forgenet": lambda: forgenet_predict(fm, xte), "torch": lambda: tm.predict(txte)},
                                2 * repeats)}
    finally:
        for c in children.values():
            c.close()
    return res, len(x), len(xte)


def main():
    import torch
    print(f"MNIST CNN, {THREADS} threads, batch {BATCH}, torch {torch.__version__}, "
          f"{REPEATS} epochs / {2 * REPEATS} predicts each (taking turns), medians")
    res, n, n_pred = measure()
    e = {k: statistics.median(v) for k, v in res["epoch"].items()}
    p = {k: n_pred / statistics.median(v) for k, v in res["predict"].items()}
    print(f"{'epoch on ' + str(n):34}{'median':>10}{'forgenet/it':>13}   all")
    for k, v in e.items():
        print(f"{k:34}{v:>8.3f} s{e['forgenet'] / v:>12.2f}x   " + " ".join(f"{t:.2f}" for t in res["epoch"][k]))
    best = min((k for k in e if k != "forgenet" and "this process" not in k), key=e.get)
    print(f"best peer: {best}; forgenet/best = {e['forgenet'] / e[best]:.2f}x (target <= 0.8)")
    print(f"predict {n_pred}: forgenet {p['forgenet']:,.0f} images/s, torch {p['torch']:,.0f} images/s, "
          f"forgenet/torch throughput {p['forgenet'] / p['torch']:.2f}x (target >= 1)")


# ---- pytest-benchmark ----------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # plain script runs need neither pytest nor pytest-benchmark
    pytest = None

if pytest is not None:
    _medians = {}

    @pytest.fixture(scope="module")
    def data():
        return load()

    @pytest.mark.parametrize("framework", ["forgenet", "torch"])
    def test_epoch(benchmark, data, framework):
        x, y, _ = data
        benchmark.group = f"cnn epoch on {len(x)} images"
        if framework == "torch":
            import torch
            m = TorchCNN()
            x, y = m.tensor(x), torch.from_numpy(y)
            m.epoch(x[:BATCH * 4], y[:BATCH * 4])  # warm up
            run = lambda: m.epoch(x, y)  # noqa: E731
        else:
            m = forgenet_model()
            forgenet_epoch(m, x[:BATCH * 4], y[:BATCH * 4])
            run = lambda: forgenet_epoch(m, x, y)  # noqa: E731
        benchmark.pedantic(run, rounds=REPEATS, iterations=1, warmup_rounds=0)
        _medians["epoch", framework] = benchmark.stats.stats.median

    @pytest.mark.parametrize("framework", ["forgenet", "torch"])
    def test_predict(benchmark, data, framework):
        x, y, xte = data
        benchmark.group = f"cnn predict on {len(xte)} images"
        if framework == "torch":
            m = TorchCNN()
            xte = m.tensor(xte)
            run = lambda: m.predict(xte)  # noqa: E731
        else:
            m = forgenet_model()
            forgenet_epoch(m, x[:BATCH], y[:BATCH])
            run = lambda: forgenet_predict(m, xte)  # noqa: E731
        benchmark.pedantic(run, rounds=2 * REPEATS, iterations=1, warmup_rounds=1)
        benchmark.extra_info["images_per_s"] = len(xte) / benchmark.stats.stats.median
        _medians["predict", framework] = benchmark.stats.stats.median

    def test_ratios(capsys):
        """Reports forgenet / torch from the medians above (runs last in this file)."""
        if not all((w, f) in _medians for w in ("epoch", "predict") for f in ("forgenet", "torch")):
            pytest.skip("needs all four measurements in the same run")
        e = _medians["epoch", "forgenet"] / _medians["epoch", "torch"]
        p = _medians["predict", "torch"] / _medians["predict", "forgenet"]
        with capsys.disabled():
            print(f"\ncnn ratios (medians): epoch time forgenet/torch {e:.2f}x (target <= 1.5), "
                  f"predict throughput forgenet/torch {p:.2f}x (target >= 1), torch layout {LAYOUT}")


if __name__ == "__main__":
    main()

"""One training epoch of the article's character-level text model (Embedding 64 -> LSTM 128 x2 ->
Dense softmax, vocab from the text, windows of 40) on 3200 windows at batch 32: forgenet vs PyTorch
and tf.keras.

    python bench/bench_text_lstm.py              # the ratio: each framework in its own subprocess, taking turns
    python -m pytest bench/bench_text_lstm.py    # pytest-benchmark, both in this process (see below)

torch and forgenet each bring an OpenMP runtime; in one process the idle threads of one spin while
the other works and slow it, so the script times each framework in a fresh subprocess (alternating,
median of the repeats). Both sides: 2 threads, Adam (lr 1e-3, eps 1e-7), a reshuffle per epoch, the
same windows of the bundled tiny Shakespeare excerpt. forgenet trains the example's model as written
(one-hot targets, categorical_crossentropy); torch gets class indices and CrossEntropyLoss on logits.
The peers run in their best configuration: torch's processes get the tuned malloc settings
(forgenet.bench.peers.TUNED_MALLOC), and so does tf.keras, which runs (forgenet.bench.peer_worker,
the same windows, model and compile as the example) when BENCH_TF_PYTHON names an interpreter with
tensorflow. Environment: BENCH_TEXT_N windows (3200), BENCH_TEXT_REPEATS processes per framework
(5), BENCH_TEXT_EPOCHS timed epochs per process (2), BENCH_TEXT_SPARSE=1 for the sparse loss (forgenet
and tf.keras), BENCH_THREADS (2; 1 for single-thread ratios under load).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

BATCH, MAX_LENGTH, EMBED, UNITS = 32, 40, 64, 128
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
N = int(os.environ.get("BENCH_TEXT_N", "3200"))
REPEATS = int(os.environ.get("BENCH_TEXT_REPEATS", "5"))
EPOCHS = int(os.environ.get("BENCH_TEXT_EPOCHS", "2"))
SPARSE = os.environ.get("BENCH_TEXT_SPARSE", "0") == "1"


def load(n: int = N):
    """n windows (int64 ids) and next-character ids from the bundled excerpt, and the vocabulary size."""
    from forgenet.datasets import tiny_shakespeare
    from forgenet.utils import CharVocabulary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = tiny_shakespeare.load_excerpt()
    vocab = CharVocabulary(text)
    x, y = tiny_shakespeare.make_sequences(vocab.encode(text), MAX_LENGTH, 3)
    return x[:n], y[:n], vocab.size


# ---- forgenet ------------------------------------------------------------------------------------

class Ours:
    def __init__(self, x, y, vocab_size, seed=0):
        import forgenet
        from forgenet.examples.text_lstm import build_model
        forgenet.set_num_threads(THREADS)
        forgenet.utils.set_random_seed(seed)
        self.model = build_model(vocab_size, EMBED, MAX_LENGTH, sparse=SPARSE)
        self.x, self.y = x, (y if SPARSE else np.eye(vocab_size, dtype=np.float32)[y])

    def epoch(self, n=None):
        self.model.fit(self.x[:n], self.y[:n], epochs=1, batch_size=BATCH, verbose=0)


# ---- torch ---------------------------------------------------------------------------------------

class Torch:
    def __init__(self, x, y, vocab_size, seed=0):
        import torch
        from torch import nn
        torch.set_num_threads(THREADS)
        torch.manual_seed(seed)
        self.torch = torch

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(vocab_size, EMBED)
                self.lstm = nn.LSTM(EMBED, UNITS, num_layers=2, batch_first=True)
                self.out = nn.Linear(UNITS, vocab_size)

            def forward(self, ids):
                return self.out(self.lstm(self.embed(ids))[0][:, -1])  # logits; softmax is in the loss

        self.net = Net()
        self.loss = nn.CrossEntropyLoss()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def epoch(self, n=None):
        x, y = self.x[:n], self.y[:n]
        perm = self.torch.randperm(len(x))
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            self.opt.zero_grad(set_to_none=True)
            self.loss(self.net(x[idx]), y[idx]).backward()
            self.opt.step()


FRAMEWORKS = {"forgenet": Ours, "torch": Torch}


def worker(name: str) -> list[float]:
    """Seconds per epoch for EPOCHS epochs of one framework, after a warm-up of a few batches."""
    x, y, v = load()
    m = FRAMEWORKS[name](x, y, v)
    m.epoch(4 * BATCH)
    times = []
    for _ in range(EPOCHS):
        t0 = time.perf_counter()
        m.epoch()
        times.append(time.perf_counter() - t0)
    return times


def tf_worker(x, y, vocab) -> list[float]:
    """tf.keras's seconds per epoch, EPOCHS epochs in a fresh process (after its warm-up)."""
    from forgenet.bench.peers import ChildPeer
    peer = ChildPeer("tf", "text", {"x": x, "y": y, "vocab": vocab}, threads=THREADS, batch=BATCH, sparse=SPARSE)
    try:
        return [peer() for _ in range(EPOCHS)]
    finally:
        peer.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
        return
    import torch
    import forgenet
    from forgenet.bench.peers import TUNED_MALLOC, tf_python
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    envs = {"forgenet": env, "torch": {**env, **TUNED_MALLOC}}
    names = list(FRAMEWORKS) + (["tf.keras"] if tf_python() else [])
    print(f"text LSTM epoch on {N} windows of {MAX_LENGTH}, batch {BATCH}, {THREADS} threads, torch "
          f"{torch.__version__} (tuned malloc), forgenet isa={forgenet._C.isa()}, {'sparse' if SPARSE else 'one-hot'} "
          f"targets; {REPEATS} subprocesses per framework taking turns, {EPOCHS} timed epochs each"
          + ("" if tf_python() else "; no tf.keras (set BENCH_TF_PYTHON)"))
    data = load() if tf_python() else None
    times = {k: [] for k in names}
    for r in range(REPEATS):
        for k in names:
            if k == "tf.keras":
                times[k] += tf_worker(*data)
                continue
            out = subprocess.run([sys.executable, __file__, "--worker", k], capture_output=True, text=True, env=envs[k])
            if out.returncode:
                raise SystemExit(f"{k} worker failed:\n{out.stderr[-2000:]}")
            times[k] += json.loads(out.stdout.strip().splitlines()[-1])
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:9} median {med[k]:.3f} s  min {min(v):.3f} s  ({N / med[k]:,.0f} windows/s)  all: "
              + " ".join(f"{t:.2f}" for t in v))
    for k in names[1:]:
        print(f"ratio forgenet/{k} epoch time: {med['forgenet'] / med[k]:.2f}x")
    best = min(names[1:], key=med.get)
    print(f"best peer {best}: forgenet/best {med['forgenet'] / med[best]:.2f}x (target <= 0.8)")


# ---- pytest-benchmark (both frameworks in this process: forgenet first; trust the script's ratio) ---

try:
    import pytest
except ImportError:
    pytest = None

if pytest is not None and __name__ != "__main__":
    @pytest.fixture(scope="module")
    def data():
        return load()

    @pytest.mark.parametrize("framework", ["forgenet", "torch"])
    def test_epoch(benchmark, data, framework):
        if framework == "torch":
            pytest.importorskip("torch")
        benchmark.group = f"text lstm epoch on {N} windows"
        m = FRAMEWORKS[framework](*data)
        m.epoch(4 * BATCH)
        benchmark.pedantic(m.epoch, rounds=REPEATS, iterations=1, warmup_rounds=0)


if __name__ == "__main__":
    main()

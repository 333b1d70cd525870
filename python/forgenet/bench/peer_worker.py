"""A peer framework's training epoch in its own process, driven over stdin/stdout.

    python peer_worker.py {torch,tf} {cnn,text} DATA.npz [--layout nchw|nhwc] [--threads 2] [--batch 32] [--sparse]

Standalone on purpose (numpy and the framework only, never forgenet), so that it runs under another
interpreter, e.g. a venv with TensorFlow (which must not share the main Python, where it would change
keras). Each framework gets its own process: two OpenMP runtimes in one process slow each other (the
idle one's threads spin), and each peer can run under its own malloc settings (the parent sets the env).
DATA.npz holds x, y (and vocab for text): the same arrays forgenet trains on. The models are the seed
CNN (Conv 32 -> pool -> Conv 64 -> pool -> Dense 64 -> Dense 10, relu, valid padding) and the text
model (Embedding 64 -> LSTM 128 x2 -> Dense vocab), both Adam (lr 1e-3, eps 1e-7) with a reshuffle
each epoch. After the build and a warm-up on 4 batches it prints "ready"; then each line "epoch"
runs one epoch and answers "@peer ok SECONDS" (the prefix tells the answers from anything a
framework prints); "quit" (or EOF) ends it.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _torch_cnn(x, y, args):
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if args.layout == "nhwc" else torch.contiguous_format
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
    for m in net:  # Keras's initialisation: glorot_uniform kernels, zero biases
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    net = net.to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss = nn.CrossEntropyLoss()  # softmax folded into the loss, as forgenet's fused softmax + cross-entropy
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    ty = torch.from_numpy(y.astype(np.int64))

    def epoch(n=None):
        xs, ys = tx[:n], ty[:n]
        net.train()
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), args.batch):
            idx = perm[i:i + args.batch]
            opt.zero_grad(set_to_none=True)
            loss(net(xs[idx].contiguous(memory_format=fmt)), ys[idx]).backward()
            opt.step()
    return epoch


def _torch_text(x, y, vocab, args):
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, 64)
            self.lstm = nn.LSTM(64, 128, num_layers=2, batch_first=True)
            self.out = nn.Linear(128, vocab)

        def forward(self, ids):
            return self.out(self.lstm(self.embed(ids))[0][:, -1])  # logits; softmax is in the loss

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss = nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64))

    def epoch(n=None):
        xs, ys = tx[:n], ty[:n]
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), args.batch):
            idx = perm[i:i + args.batch]
            opt.zero_grad(set_to_none=True)
            loss(net(xs[idx]), ys[idx]).backward()
            opt.step()
    return epoch


def _keras(args):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.keras.utils.set_random_seed(0)
    return tf.keras


def _tf_cnn(x, y, args):
    keras = _keras(args)
    L = keras.layers
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                              L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    # the seed's compile, as forgenet's example runs it
    model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return lambda n=None: model.fit(x[:n], y[:n], epochs=1, batch_size=args.batch, verbose=0)


def _tf_text(x, y, vocab, args):
    keras = _keras(args)
    L = keras.layers
    model = keras.Sequential([keras.Input((x.shape[1],), dtype="int64"), L.Embedding(vocab, 64),
                              L.LSTM(128, return_sequences=True), L.LSTM(128), L.Dense(vocab, activation="softmax")])
    loss = "sparse_categorical_crossentropy" if args.sparse else "categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7), loss=loss, metrics=["accuracy"])
    target = y if args.sparse else np.eye(vocab, dtype=np.float32)[y]
    return lambda n=None: model.fit(x[:n], target[:n], epochs=1, batch_size=args.batch, verbose=0)


def build(args):
    data = np.load(args.data)
    x, y = data["x"], data["y"]
    if args.model == "cnn":
        return (_torch_cnn if args.framework == "torch" else _tf_cnn)(x, y, args)
    vocab = int(data["vocab"])
    return (_torch_text if args.framework == "torch" else _tf_text)(x, y, vocab, args)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("framework", choices=["torch", "tf"])
    p.add_argument("model", choices=["cnn", "text"])
    p.add_argument("data")
    p.add_argument("--layout", choices=["nchw", "nhwc"], default="nchw", help="torch's memory format (cnn)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--sparse", action="store_true", help="text: integer targets (default one-hot, as the example)")
    args = p.parse_args(argv)
    if args.layout == "nhwc" and (args.framework != "torch" or args.model != "cnn"):
        p.error("--layout nhwc is torch's channels_last for the cnn only")
    epoch = build(args)
    epoch(4 * args.batch)  # build + warm up (tf traces its train step here)
    print("@peer ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        if cmd != "epoch":
            print(f"@peer error unknown command {cmd!r}", flush=True)
            continue
        t0 = time.perf_counter()
        epoch()
        print(f"@peer ok {time.perf_counter() - t0:.6f}", flush=True)


if __name__ == "__main__":
    main()

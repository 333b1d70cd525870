"""Per-call time of forgenet.jax ops under jax.jit on the FFI route against the callback route.

    PYTHONPATH=python python bench/bench_jax_ffi.py [--reps 200] [--threads 1]

Both routes run the same kernel, so the difference is the route's overhead (pure_callback: the host
round trip through Python and numpy; FFI: an XLA custom call on XLA's buffers). Calls alternate
between the routes so a machine loaded by other processes slows both alike; medians and minimums of
wall time, and the median process CPU time, per call.
"""
import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import forgenet
import forgenet.jax as fj
from forgenet.jax import _ffi


def cases():
    rng = np.random.default_rng(0)
    r = lambda *s: jnp.asarray(rng.standard_normal(s).astype(np.float32))  # noqa: E731
    yield "gemm 16", lambda a, b: fj.gemm(a, b), (r(16, 16), r(16, 16))
    yield "gemm 256", lambda a, b: fj.gemm(a, b), (r(256, 256), r(256, 256))
    yield "attention b1 h1 n16 d8", lambda q, k, v: fj.attention(q, k, v), (r(1, 1, 16, 8),) * 3
    yield "attention b4 h8 n256 d64", lambda q, k, v: fj.attention(q, k, v), (r(4, 8, 256, 64),) * 3
    yield "attention b4 h8 n256 d64 fwd+bwd", jax.grad(lambda q, k, v: fj.attention(q, k, v).sum(), argnums=(0, 1, 2)), \
        (r(4, 8, 256, 64),) * 3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        forgenet.set_num_threads(a.threads)
    assert fj.FFI, _ffi.WHY_OFF
    print(f"threads={forgenet.get_num_threads()} reps={a.reps} (interleaved)")
    print(f"{'case':36s} {'route':8s} {'median us':>10s} {'min us':>9s} {'cpu med us':>10s}")
    for name, f, args in cases():
        fns = {"ffi": jax.jit(f)}
        with _ffi.forced_callback():
            fns["callback"] = jax.jit(lambda *x, f=f: f(*x))
            jax.block_until_ready(fns["callback"](*args))
        jax.block_until_ready(fns["ffi"](*args))
        wall = {k: [] for k in fns}
        cpu = {k: [] for k in fns}
        for _ in range(a.reps):
            for k, fn in fns.items():
                t0, c0 = time.perf_counter(), time.process_time()
                jax.block_until_ready(fn(*args))
                wall[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
        for k in fns:
            w = np.array(wall[k]) * 1e6
            print(f"{name:36s} {k:8s} {np.median(w):10.1f} {w.min():9.1f} {np.median(cpu[k]) * 1e6:10.1f}")


if __name__ == "__main__":
    main()

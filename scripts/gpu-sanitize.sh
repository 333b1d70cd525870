#!/usr/bin/env bash
# compute-sanitizer over every forgenet CUDA op on tiny shapes (odd sizes, batch 1, empty axes):
#   scripts/gpu-sanitize.sh [OUTDIR]
# Runs the tools memcheck (out-of-bounds and misaligned accesses, leaks of device allocations) and
# racecheck (shared-memory hazards) with CuPy's memory pool disabled, so that every output and scratch
# buffer is its own cudaMalloc and an access one element past it is visible to memcheck instead of
# landing in a neighbouring pooled block. Needs an installed forgenet with forgenet._cuda (see
# scripts/gpu-check.sh), CuPy, and compute-sanitizer (CUDA toolkit). FORGENET_CUDA_SYNC=1 makes each
# op synchronise, so a fault is reported with the op that caused it. Exits non-zero on any finding.
set -uo pipefail
OUT=${1:-sanitize-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
[ -x "$SAN" ] || { echo "gpu-sanitize: compute-sanitizer not found"; exit 2; }

cat > "$OUT/tiny_ops.py" <<'PY'
import cupy
cupy.cuda.set_allocator(None)         # no pool: each allocation is its own cudaMalloc
cupy.cuda.set_pinned_memory_allocator(None)
import numpy as np
import forgenet.kernels as K

rng = np.random.default_rng(0)
def f(*s):
    return cupy.asarray(rng.standard_normal(s).astype(np.float32))

for m, n, k in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (0, 4, 3), (65, 130, 600)]:
    for ta in (False, True):
        a = f(k, m) if ta else f(m, k)
        K.gemm(a, f(k, n), trans_a=ta)
for shape in [(1, 1), (3, 7), (2, 300), (5, 0)]:
    y = K.softmax(f(*shape)); K.softmax_backward(f(*shape), y)
K.softmax_cross_entropy(f(3, 5), cupy.asarray(np.array([0, 4, 2])))
K.softmax_cross_entropy(f(3, 5), K.softmax(f(3, 5)))
for pad in ("valid", "same"):
    for pool, st in [(2, None), (3, 1), (3, 2)]:
        x = f(2, 7, 5, 3)
        for op in ("max", "avg"):
            y = getattr(K, op + "_pool2d")(x, pool, st, pad)
            getattr(K, op + "_pool2d_backward")(cupy.ones_like(y), x, pool, st, pad)
    x, kk = f(2, 7, 6, 3), f(3, 2, 3, 4)
    y = K.conv2d(x, kk, f(4), strides=(2, 1), padding=pad)
    K.conv2d_backward(cupy.ones_like(y), x, kk, strides=(2, 1), padding=pad)
    K.conv2d_backward(cupy.ones_like(y), x, kk, strides=(2, 1), padding=pad, need_dx=False)
for b, h, nq, nk, d, dv in [(1, 1, 1, 1, 1, 1), (2, 3, 5, 7, 8, 5), (1, 2, 70, 65, 40, 33), (1, 1, 3, 0, 4, 4)]:
    q, k_, v = f(b, h, nq, d), f(b, h, nk, d), f(b, h, nk, dv)
    for causal in (False, True):
        o, lse = K.attention(q, k_, v, causal=causal, return_lse=True)
        K.attention_backward(cupy.ones_like(o), q, k_, v, o, lse, causal=causal)
for n, t, d, u in [(1, 1, 1, 1), (3, 4, 5, 6), (2, 0, 3, 4), (0, 3, 2, 2)]:
    args = (f(n, t, d), f(n, u), f(n, u), f(d, 4 * u), f(u, 4 * u), f(4 * u))
    y, hT, cT, r = K.lstm(*args, training=True)
    K.lstm_backward(cupy.ones_like(y), None, None, *args, r)
ids = cupy.asarray(np.array([[0, 3], [2, 2]]))
K.embedding(ids, f(4, 5)); K.embedding_backward(f(2, 2, 5), ids, 4)
for shape in [(1,), (3, 7), (2, 3, 0)]:
    x = f(*shape)
    y, mean, rstd = K.layer_norm(x, f(shape[-1]), f(shape[-1]))
    K.layer_norm_backward(cupy.ones_like(y), x, f(shape[-1]), mean, rstd)
for shape in [(1,), (7,), (300, 7)]:
    var, g, m, v = f(*shape), f(*shape), f(*shape), cupy.abs(f(*shape))
    K.adam_update(var, g, m, v, cupy.abs(f(*shape)), 1e-3, 0.9, 0.999, 1e-7)
    K.sgd_update(var, g, m, 0.1, 0.9, True)
    K.rmsprop_update(var, g, v, f(*shape), f(*shape), 0.1, 0.9, 0.5, 1e-7)
cupy.cuda.runtime.deviceSynchronize()
print("tiny ops: done")
PY

status=0
for tool in memcheck racecheck; do
  extra=()
  [ "$tool" = memcheck ] && extra=(--leak-check full)
  echo "gpu-sanitize: $tool ..."
  (cd "$OUT" && FORGENET_CUDA_SYNC=1 timeout 1500 "$SAN" --tool "$tool" "${extra[@]}" --error-exitcode 9 \
      --print-limit 50 python tiny_ops.py) > "$OUT/$tool.log" 2>&1
  rc=$?
  summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY|LEAK SUMMARY" "$OUT/$tool.log" | tail -2)
  echo "gpu-sanitize: $tool exit $rc ${summary}"
  [ $rc -ne 0 ] && status=1 && tail -40 "$OUT/$tool.log"
done
exit $status

#!/usr/bin/env bash
# The checks that need a GPU, in one go (~8 minutes at most):
#   scripts/gpu-check.sh OUTDIR
# builds forgenet with its CUDA module required (FORGENET_CUDA=ON), from packages already installed (no
# registry), runs the `gpu` tests and the GPU benchmarks, and leaves in OUTDIR: build.log, device.txt,
# tests.log, bench.log, bench_gpu.json. Prints a short summary; exits non-zero when the build or a test fails.
set -uo pipefail
OUT=${1:?usage: scripts/gpu-check.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/.."

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/nvidia-smi.txt"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
start=$(date +%s)
if ! timeout 300 python -m pip install --no-build-isolation --no-deps -C cmake.define.FORGENET_CUDA=ON . \
    > "$OUT/build.log" 2>&1; then
  echo "gpu-check: BUILD FAILED (last lines of $OUT/build.log):"
  tail -25 "$OUT/build.log"
  exit 2
fi
echo "gpu-check: built in $(( $(date +%s) - start )) s"

cd /tmp  # import the installed package, not the source tree
python - > "$OUT/device.txt" 2>&1 <<'PY'
import forgenet, forgenet._cuda as c
from forgenet import _build_info as b
print(f"forgenet {forgenet.__version__}: CUDA {b.CUDA_COMPILER_VERSION}, archs {b.CUDA_ARCHITECTURES}")
print(f"devices: {c.device_count()} ({c.device_status()}); runtime {c.runtime_version()}, driver {c.driver_version()}")
PY
cat "$OUT/device.txt"
cd - > /dev/null

timeout 300 python -m pytest -m gpu tests/ -q -p no:cacheprovider -rfEs > "$OUT/tests.log" 2>&1
tests_rc=$?
echo "gpu-check: tests (rc=$tests_rc): $(tail -1 "$OUT/tests.log")"
[ $tests_rc -ne 0 ] && grep -E "^(FAILED|ERROR)" "$OUT/tests.log" | head -20

timeout 150 python bench/bench_gpu.py "$OUT/bench_gpu.json" > "$OUT/bench.log" 2>&1
echo "gpu-check: bench (rc=$?):"
cat "$OUT/bench.log" | head -30
echo "gpu-check: total $(( $(date +%s) - start )) s; outputs in $OUT"
exit $tests_rc

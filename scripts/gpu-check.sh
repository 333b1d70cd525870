#!/usr/bin/env bash
# The checks that need a GPU, in one go (about 8 minutes at most):
#   scripts/gpu-check.sh OUTDIR
# Installs forgenet with its CUDA module (built here with FORGENET_CUDA=ON when nvcc is present, else
# from the wheel named by $FORGENET_WHEEL, e.g. one made on a machine with nvcc by
# `pip wheel --no-deps . -w dist`), from packages already installed (no registry); runs the `gpu` tests
# and the GPU benchmarks. Leaves in OUTDIR: nvidia-smi.txt, build.log, device.txt, tests.log, bench.log,
# bench_gpu.json. Prints a short summary; exits non-zero when the install fails, a test fails, or no
# GPU test ran at all.
set -uo pipefail
OUT=${1:?usage: scripts/gpu-check.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/.."

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/nvidia-smi.txt"
head -12 "$OUT/nvidia-smi.txt"
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
start=$(date +%s)
if [ -n "${FORGENET_WHEEL:-}" ]; then
  install=(python -m pip install --no-deps --force-reinstall "$FORGENET_WHEEL")
elif command -v nvcc > /dev/null || [ -n "${CUDACXX:-}" ]; then
  install=(python -m pip install --no-build-isolation --no-deps -C cmake.define.FORGENET_CUDA=ON .)
else
  echo "gpu-check: no nvcc here and no FORGENET_WHEEL; build a wheel where nvcc is (pip wheel --no-deps . -w dist)"
  exit 2
fi
if ! timeout 150 "${install[@]}" > "$OUT/build.log" 2>&1; then
  echo "gpu-check: INSTALL FAILED (${install[*]}); last lines of $OUT/build.log:"
  tail -25 "$OUT/build.log"
  exit 2
fi
echo "gpu-check: installed in $(( $(date +%s) - start )) s"

(cd /tmp && python - > "$OUT/device.txt" 2>&1 <<'PY'
import forgenet, forgenet._cuda as c
from forgenet import _build_info as b
print(f"forgenet {forgenet.__version__}: CUDA {b.CUDA_COMPILER_VERSION}, archs {b.CUDA_ARCHITECTURES}")
print(f"devices: {c.device_count()} ({c.device_status()}); runtime {c.runtime_version()}, driver {c.driver_version()}")
PY
)
cat "$OUT/device.txt"

timeout 210 python -m pytest -m gpu tests/gpu -q -p no:cacheprovider -rfEs --durations=15 > "$OUT/tests.log" 2>&1
tests_rc=$?
echo "gpu-check: tests (rc=$tests_rc): $(tail -1 "$OUT/tests.log")"
grep -E "^(FAILED|ERROR|SKIPPED)" "$OUT/tests.log" | head -20
if { [ $tests_rc -eq 0 ] || [ $tests_rc -eq 5 ]; } && ! tail -1 "$OUT/tests.log" | grep -q " passed"; then
  echo "gpu-check: no GPU test ran (CuPy or the GPU missing?)"
  tests_rc=3
fi

timeout 120 python bench/bench_gpu.py "$OUT/bench_gpu.json" > "$OUT/bench.log" 2>&1
echo "gpu-check: bench (rc=$?):"
head -60 "$OUT/bench.log"
echo "gpu-check: total $(( $(date +%s) - start )) s; outputs in $OUT"
exit $tests_rc

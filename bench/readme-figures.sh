#!/usr/bin/env bash
# The runs behind the README's speed table, one after another (each tool in the same process as its
# peer, ratios from the same run), written to OUTDIR/<name>.txt. Run it on a quiet machine: another
# busy process turns these into noise. About 30 minutes on 2 cores.
#
#   bench/readme-figures.sh OUTDIR [--quick]
#   FIGURES="gemm conv-resnet" bench/readme-figures.sh OUTDIR   # only the runs named
#
# On an AVX-512 machine run it twice: as is, and with FORGENET_ISA=avx2 (the README carries both).
set -uo pipefail
out=${1:?usage: bench/readme-figures.sh OUTDIR [--quick]}
quick=${2:-}
mkdir -p "$out"
reps=7
[ "$quick" = --quick ] && reps=3
fb="python -m forgenet.bench"
# tf.keras, a peer of the epoch runs, lives in its own interpreter (tensorflow would replace this one's keras)
[ -z "${BENCH_TF_PYTHON:-}" ] && [ -x /tmp/tf-venv/bin/python ] && export BENCH_TF_PYTHON=/tmp/tf-venv/bin/python

run() {  # run NAME CMD...: one figure's run, its load before and after
  local name=$1; shift
  [ -n "${FIGURES:-}" ] && [[ " $FIGURES " != *" $name "* ]] && return 0
  { echo "# $*"; echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/$name.txt"
  "$@" >> "$out/$name.txt" 2>&1
  echo "# rc=$? load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/$name.txt"
  echo "readme-figures: $name done"
}

python -c "import forgenet._C as c; print('isa', c.isa())" > "$out/isa.txt"
run attention-fwd        $fb attention --n 256 1024 4096 --batch 4 --heads 8 --d 64 --peers torch --reps $reps
run attention-fwd-causal $fb attention --n 256 1024 4096 --batch 4 --heads 8 --d 64 --causal --peers torch --reps $reps
run attention-bwd        $fb attention --n 256 1024 4096 --batch 4 --heads 8 --d 64 --mode fwd+bwd --peers torch --reps $reps
run attention-bwd-causal $fb attention --n 256 1024 4096 --batch 4 --heads 8 --d 64 --causal --mode fwd+bwd --peers torch --reps $reps
run conv-mnist           $fb conv2d --preset mnist --mode fwd+bwd --peers torch --reps $reps
run conv-mnist-b128      $fb conv2d --preset mnist --batch 128 --mode fwd+bwd --peers torch --reps $reps
run conv-resnet          $fb conv2d --preset resnet --mode fwd --peers torch --reps $reps
run conv-resnet-bwd      $fb conv2d --preset resnet --mode fwd+bwd --peers torch --reps $reps
run gemm                 $fb gemm 32x512x128 32x64x1600 1280x512x64 3136x64x576 1024 2048 --peers numpy,torch --reps $reps
run gemm-1thread         $fb gemm 32x512x128 32x64x1600 1280x512x64 3136x64x576 1024 2048 --peers numpy,torch --reps $reps --threads 1
run lstm                 $fb lstm --mode fwd --peers torch --reps $reps
run lstm-bwd             $fb lstm --mode fwd+bwd --peers torch --reps $reps
run gru                  python bench/bench_gru.py
run batchnorm            python bench/bench_batchnorm.py
run adapters             python bench/bench_adapters.py
run distributed          python bench/bench_distributed.py --steps 20 --repeats 5
run page-faults          python bench/bench_page_faults.py
run cnn-epoch            $fb cnn-epoch --n 2048 --peers torch,tf --reps 3
run text-epoch           env BENCH_TEXT_REPEATS=3 python bench/bench_text_lstm.py
run under-load          python bench/bench_under_load.py --reps 7

"""Runs fuzz_cases.py once per op family in a subprocess with a timeout: a crash (signal), a hang, a
foreign exception type or a message that does not name the op fails that family's test. The default
run draws a few dozen examples per family (seconds in all); FORGENET_FUZZ_EXAMPLES=2000 (and
FORGENET_FUZZ_RANDOM=1 for fresh examples instead of the fixed derandomised ones) searches harder."""
import os
import pathlib
import subprocess
import sys

import pytest
from _subproc import FORGENET_PATH

HERE = pathlib.Path(__file__).resolve().parent
FAMILIES = ["pooling", "conv", "gemm", "softmax", "lstm", "embedding", "attention", "layernorm", "optimizer", "gru",
            "simple_rnn", "batchnorm", "depthwise"]
EXAMPLES = int(os.environ.get("FORGENET_FUZZ_EXAMPLES", "30"))
TIMEOUT = float(os.environ.get("FORGENET_FUZZ_TIMEOUT", str(max(60, EXAMPLES))))


@pytest.mark.parametrize("family", FAMILIES)
def test_fuzz_family(family):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([FORGENET_PATH, str(HERE)]), OMP_NUM_THREADS="2")
    try:
        p = subprocess.run([sys.executable, str(HERE / "fuzz_cases.py"), family, str(EXAMPLES)], env=env,
                           capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        tail = (e.stderr or b"")[-2000:]
        tail = tail.decode() if isinstance(tail, bytes) else tail
        pytest.fail(f"{family}: the fuzz run hung (> {TIMEOUT:.0f} s); last examples:\n{tail}")
    if p.returncode != 0:
        how = f"signal {-p.returncode}" if p.returncode < 0 else f"exit {p.returncode}"
        pytest.fail(f"{family}: {how}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr (last examples)\n{p.stderr[-4000:]}")

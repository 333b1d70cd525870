"""bench/bench_adapters.py runs and reports the fixed cost beside the ratio (never its speed: no timing asserted)."""
import importlib.util
import json
import pathlib

import pytest

pytest.importorskip("torch")

_PATH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_adapters.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_adapters", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_floor_group_reports_microseconds_per_call(tmp_path, capsys):
    out = tmp_path / "floor.json"
    _module().main(["--only", "floor", "--reps", "1", "--min-sample-s", "0", "--threads", "1", "--json", str(out)])
    rows = json.loads(out.read_text())["rows"]
    assert [r["case"] for r in rows] == [f"{n} inputs {m}" for n in (2, 3, 6) for m in ("fwd", "fwd+grad")]
    for r in rows:
        assert r["base"] == "nothing" and r["other"] == "torch.autograd.Function"
        assert r["other_median_s"] > 0 and "median_extra_s" in r
    text = capsys.readouterr().out
    assert "+us/call" in text and "      -" in text  # no ratio to doing nothing is printed

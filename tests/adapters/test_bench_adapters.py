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


def test_backward_rows_split_the_overhead_into_torchs_floor_and_the_adapters_own(tmp_path, capsys):
    out = tmp_path / "small.json"
    _module().main(["--only", "small", "--reps", "1", "--min-sample-s", "0", "--threads", "1", "--json", str(out)])
    rows = json.loads(out.read_text())["rows"]
    backward = [r for r in rows if "floor_extra_s" in r]
    # conv2d's case name does not say its mode: its forward+backward row is found all the same
    assert sorted(r["bench"] for r in backward) == ["attention", "attention", "conv2d", "lstm"]
    for r in backward:
        assert "forgenet+floor" in r["calls_per_sample"]
        assert r["own_fraction"] == pytest.approx(r["own_extra_s"] / r["base_median_s"])
    assert all("own_extra_s" not in r for r in rows if r["bench"] == "gemm")
    assert "own " in capsys.readouterr().out

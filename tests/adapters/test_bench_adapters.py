"""bench/bench_adapters.py runs and reports the fixed cost beside the ratio (never its speed: no timing asserted)."""
import importlib.util
import json
import pathlib

import pytest

pytest.importorskip("torch")

from support import CpuCapsule  # noqa: E402

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


def test_fixed_group_reports_paired_differences_with_intervals_and_a_null(tmp_path, capsys):
    out = tmp_path / "fixed.json"
    _module().main(["--only", "fixed", "--budget-s", "0", "--min-reps", "3", "--json", str(out)])
    rows = json.loads(out.read_text())["rows"]
    assert {r["group"] for r in rows} == {"fixed"}
    assert {(r["bench"], r["mode"]) for r in rows} == {("gemm", "fwd"), ("conv2d", "fwd"), ("conv2d", "fwd+bwd"),
                                                       ("lstm", "fwd"), ("lstm", "fwd+bwd"), ("attention", "fwd"),
                                                       ("attention", "fwd+bwd")}
    for r in rows:
        assert r["reps"] == 3
        for clock in ("cpu", "wall"):
            c = r[clock]
            for d in ("null", "total", "own"):
                lo, hi = c[d]["ci95"]
                assert lo <= c[d]["median"] <= hi
            # forward+backward splits the total into torch's floor and the adapter's own share
            assert ("floor" in c) == (r["mode"] == "fwd+bwd")
            if r["mode"] == "fwd":
                assert c["own"] == c["total"]
        assert set(r["calls_per_sample"]) >= {"forgenet", "forgenet again", "forgenet.torch"}
    assert "null +us [95% CI]" in capsys.readouterr().out


def test_the_precise_runners_share_their_operands(monkeypatch):
    """The kernels and the adapter read the same memory, so placement cannot differ between them."""
    import numpy as np

    from forgenet import _C

    mod = _module()
    seen = []

    def spy(name):
        real = getattr(_C, name)

        def call(*args, **kwargs):
            arrays = [np.from_dlpack(CpuCapsule(a)) if type(a).__name__ == "PyCapsule" else a for a in args]
            seen.append([a.__array_interface__["data"][0] for a in arrays if isinstance(a, np.ndarray)])
            return real(*arrays, **kwargs)
        return call
    for bench, _case, mode, dims in mod._precise_cases(small=True):
        monkeypatch.setattr(_C, bench, spy(bench))
        fns = mod._shared(bench, dims, mode)
        assert set(fns) == {"forgenet", "forgenet again", "forgenet.torch"} | ({"forgenet+floor"} if mode == "fwd+bwd" else set())
        fns["forgenet"]()
        fns["forgenet.torch"]()
        (kernel_in, adapter_in) = seen[0], seen[-1]
        assert kernel_in == adapter_in, f"{bench} {mode}: the runners read different arrays"
        seen.clear()

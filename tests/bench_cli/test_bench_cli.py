"""python -m forgenet.bench: the documented JSON/CSV fields, --compare, --plot and the timing core
(tiny shapes, 1-2 reps: nothing here asserts a speed)."""
import copy
import csv
import io
import itertools
import json
import os
import subprocess
import sys

import pytest

from forgenet.bench import cli, report, timing

MACHINE_FIELDS = {"cpu", "logical_cpus", "threads", "isa", "forgenet_isa_env", "gemm_kernel", "clock_mhz",
                  "clock_source", "flop_per_cycle", "peak_gflops", "platform", "python", "forgenet",
                  "numpy_threads", "peers"}


def _run(tmp_path, *args):
    out = tmp_path / "out.json"
    code = cli.main([*args, "--reps", "2", "--warmup", "0", "--min-sample-s", "0", "--quiet", "--json", str(out)])
    return code, json.loads(out.read_text())


def test_module_entry_point_writes_documented_json(tmp_path):
    out = tmp_path / "g.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    res = subprocess.run([sys.executable, "-m", "forgenet.bench", "gemm", "16", "8x4x2", "--reps", "1", "--no-peers",
                          "--json", str(out)], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert "threads" in res.stdout and "ISA" in res.stdout  # the table names the machine too
    doc = json.loads(out.read_text())
    assert {"schema", "tool", "argv", "machine", "rows"} <= set(doc)
    assert MACHINE_FIELDS <= set(doc["machine"])
    assert doc["machine"]["isa"] in ("generic", "avx2", "avx512")
    assert [r["case"] for r in doc["rows"]] == ["16x16x16", "8x4x2"]
    for r in doc["rows"]:
        assert set(report.ROW_FIELDS) <= set(r)
        assert r["impl"] == "forgenet" and r["unit"] == "GFLOP/s" and r["reps"] == 1
        assert r["median_s"] > 0 and r["rate"] > 0


@pytest.mark.parametrize("args", [["attention", "--n", "8", "--batch", "1", "--heads", "1", "--d", "4", "--causal",
                                   "--mode", "fwd+bwd"],
                                  ["conv2d", "--shape", "5,5,2,3,3", "--batch", "1", "--mode", "fwd+bwd"],
                                  ["lstm", "--batch", "2", "--steps", "3", "--input", "4", "--hidden", "4"]])
def test_each_kernel_bench_runs(tmp_path, args):
    code, doc = _run(tmp_path, *args, "--no-peers")
    assert code == 0
    (row,) = doc["rows"]
    assert row["bench"] == args[0] and row["rate"] > 0 and row["q1_s"] <= row["median_s"] <= row["q3_s"]
    if doc["machine"]["peak_gflops"]:
        assert row["pct_peak"] == pytest.approx(100 * row["rate"] / doc["machine"]["peak_gflops"])


def test_conv_layers_each_get_their_own_shapes(tmp_path):
    code, doc = _run(tmp_path, "conv2d", "--shape", "6,6,1,2,3", "--shape", "5,5,2,2,3,2", "--padding", "same",
                     "--batch", "1", "--mode", "fwd+bwd", "--no-peers")
    assert code == 0 and len(doc["rows"]) == 2


def test_peers_get_rows_and_ratios(tmp_path):
    code, doc = _run(tmp_path, "gemm", "8", "--peers", "numpy")
    assert [r["impl"] for r in doc["rows"]] == ["forgenet", "numpy"]
    ours, peer = doc["rows"]
    assert peer["vs_forgenet"] == pytest.approx(peer["median_s"] / ours["median_s"])
    assert "numpy" in doc["machine"]["peers"]


def test_compare_flags_a_slowdown(tmp_path, capsys):
    code, doc = _run(tmp_path, "gemm", "8", "--no-peers")
    faster_before = copy.deepcopy(doc)
    for r in faster_before["rows"]:
        r["median_s"] /= 100  # the previous run was 100x faster: now a slowdown
    prev = tmp_path / "prev.json"
    prev.write_text(json.dumps(faster_before))
    out = tmp_path / "new.json"
    code = cli.main(["gemm", "8", "--no-peers", "--reps", "2", "--warmup", "0", "--compare", str(prev),
                     "--json", str(out)])
    assert code == 1
    assert "SLOWER" in capsys.readouterr().out
    (row,) = json.loads(out.read_text())["rows"]
    assert row["slower"] is True and row["change"] > 1 and row["previous_median_s"] > 0
    for r in faster_before["rows"]:
        r["median_s"] *= 1e6  # now the previous run was far slower: nothing to flag
    prev.write_text(json.dumps(faster_before))
    code = cli.main(["gemm", "8", "--no-peers", "--reps", "1", "--compare", str(prev), "--quiet"])
    assert code == 0


def test_csv_records_machine_in_every_row(tmp_path):
    out = tmp_path / "r.csv"
    assert cli.main(["gemm", "4", "--no-peers", "--reps", "1", "--quiet", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 1 and rows[0]["threads"] and rows[0]["isa"] and rows[0]["impl"] == "forgenet"
    assert set(report.ROW_FIELDS) <= set(rows[0])


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "b.png"
    assert cli.main(["gemm", "8", "--peers", "numpy", "--reps", "1", "--quiet", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["gemm", "12x3"])
    assert e.value.code == 2 and "MxNxK" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="unknown peers"):
        cli.main(["gemm", "4", "--peers", "blas"])


def test_timing_core_alternates_and_summarises():
    order = []
    t = iter(range(100))
    res = timing.alternate({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, reps=3, warmup=1,
                           timer=lambda: float(next(t)), settle_s=0.0)
    assert order == ["a", "b"] + ["a", "b"] * 3  # warm-up each, then the samples in turns
    assert res["a"].samples == [1.0, 1.0, 1.0] and res["a"].spread == 0.0
    # with a settle pause (the default for several runners) each sample follows untimed calls (at
    # least one, for timing.WAKE_S)
    order.clear()
    timing.alternate({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, reps=2, warmup=1,
                     settle_s=1e-4)
    runs = [(k, len(list(g))) for k, g in itertools.groupby(order)]
    assert [k for k, _ in runs] == ["a", "b"] * 3
    assert [n for _, n in runs[:2]] == [1, 1] and all(n >= 2 for _, n in runs[2:])
    tm = timing.Timing(samples=[1.0, 2.0, 3.0, 4.0, 10.0])
    assert tm.median == 3.0 and tm.quantile(0.25) == 2.0 and tm.spread == pytest.approx((4 - 2) / 3)
    with pytest.raises(ValueError, match="reps"):
        timing.measure(lambda: None, reps=0)


def test_threads_cap_numpys_blas(tmp_path):
    # --threads N with numpy as a peer: threadpoolctl caps it in process; without it the CLI re-runs itself
    # with OPENBLAS_NUM_THREADS=N (read once, when numpy loads) and the machine record says which
    try:
        import threadpoolctl  # noqa: F401
        capped, uncapped = 1, None
    except ImportError:
        capped, uncapped = "1 (OPENBLAS_NUM_THREADS)", "not capped (threadpoolctl not installed)"
    code, doc = _run(tmp_path, "gemm", "8", "--threads", "1", "--peers", "numpy")
    assert code == 0 and doc["machine"]["numpy_threads"] == capped
    assert {r["impl"] for r in doc["rows"]} == {"forgenet", "numpy"}
    if uncapped:  # no --threads: nothing to cap to, and the record says numpy ran on its own count
        assert _run(tmp_path, "gemm", "8", "--peers", "numpy")[1]["machine"]["numpy_threads"] == uncapped

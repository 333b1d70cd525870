"""forgenet.bench.versus (the repo's bench/ scripts' ratio tables) and timing.paired (nothing here
asserts a speed: the timed functions are trivial and only the bookkeeping is checked)."""
import pytest

from forgenet.bench import timing, versus


def test_paired_ratio_and_difference_pair_samples_of_one_rep():
    base = timing.Timing(samples=[1.0, 2.0, 4.0])
    other = timing.Timing(samples=[1.5, 2.2, 8.0])
    ratio, diff = timing.paired(base, other)
    assert ratio == pytest.approx(1.5) and diff == pytest.approx(0.5)  # medians of (1.5, 1.1, 2) and (.5, .2, 4)
    with pytest.raises(ValueError, match="no samples"):
        timing.paired(timing.Timing(), timing.Timing())


def test_table_prints_each_mode_with_the_ratio(monkeypatch):
    monkeypatch.setattr(timing, "SETTLE_S", 1e-4)
    monkeypatch.setattr(timing, "WAKE_S", 0.0)  # one untimed call after each pause
    lines, calls = [], []
    rows = versus.table("toy", [("forward", lambda: calls.append("f"), lambda: calls.append("t")),
                                ("forward+backward", lambda: None, lambda: None)],
                        reps=3, warmup=0, min_sample_s=0, threads=1, write=lines.append)
    assert calls == ["f", "f", "t", "t"] * 3  # samples in turns, each after the settle pause's untimed call
    assert [r["mode"] for r in rows] == ["forward", "forward+backward"]
    assert all(r["ratio"] > 0 and r["forgenet_median_s"] > 0 and r["torch_median_s"] > 0 for r in rows)
    assert lines[0].startswith("toy | 1 threads") and "forgenet/torch" in lines[2]
    assert lines[3].split()[0] == "forward" and lines[3].endswith("x")


def test_each_size_gets_its_own_adapter_runner():
    pytest.importorskip("torch")
    from forgenet.bench import cases

    for c, n in zip(cases.gemm_cases([(4, 3, 2), (6, 5, 7)], ["forgenet.torch"]), (4, 6)):
        assert tuple(c.runners["forgenet.torch"]()().shape) == tuple(c.runners["forgenet"]()().shape) == (n, n - 1)
    for c, n in zip(cases.attention_cases([3, 5], 1, 1, 2, False, "fwd", ["forgenet.torch"]), (3, 5)):
        assert tuple(c.runners["forgenet.torch"]()().shape) == (1, 1, n, 2)

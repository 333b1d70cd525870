"""The timed clock behind % of peak: plausible, near the OS's figure, and the source every output records.
Loose by design: a loaded machine only lowers the figure, and turbo may raise it well above nominal."""
import pytest

from forgenet import _C
from forgenet.bench import machine


def test_measured_clock_is_plausible_and_near_the_nominal_one():
    mhz = _C.measure_clock_mhz(10)
    assert 100 < mhz < 10_000, mhz
    nominal, source = machine.nominal_clock_mhz()
    if nominal:  # turbo above, a loaded or throttled core below: a factor of 3 either way still catches
        # a chain the compiler folded (far too high) or one costing several cycles an add (far too low)
        assert nominal / 3 < mhz < nominal * 3, (mhz, nominal, source)


def test_cpu_info_reports_the_measured_clock_and_the_override():
    info = machine.cpu_info(1)
    assert info["clock_source"] == "measured" and info["clock_mhz"] > 0
    assert info["peak_gflops"] == pytest.approx(info["flop_per_cycle"] * info["clock_mhz"] / 1000)
    assert {"clock_nominal_mhz", "clock_nominal_source"} <= set(info)
    forced = machine.cpu_info(2, clock_override=1000.0)
    assert forced["clock_source"] == "--clock-mhz" and forced["peak_gflops"] == pytest.approx(2 * forced["flop_per_cycle"])


@pytest.mark.parametrize("ms", [0, -1.0, float("nan"), 1e6])
def test_measure_clock_rejects_bad_durations(ms):
    with pytest.raises(ValueError, match="measure_clock_mhz: ms must be in"):
        _C.measure_clock_mhz(ms)

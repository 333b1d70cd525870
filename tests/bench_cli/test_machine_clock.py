"""The timed clock and FMA rate behind % of peak: plausible, near the OS's figure, and the source every output records.
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
    assert {"clock_nominal_mhz", "clock_nominal_source", "flop_per_cycle_source"} <= set(info)
    forced = machine.cpu_info(2, clock_override=1000.0)
    assert forced["clock_source"] == "--clock-mhz" and forced["peak_gflops"] == pytest.approx(2 * forced["flop_per_cycle"])


def test_timed_fma_rate_gives_a_plausible_flop_per_cycle():
    # one core issues at most 2 FMAs of the ISA's width a cycle: 16 lanes x 2 x 2 = 64 FLOP on AVX-512;
    # a folded loop would come out far above that, a dependent chain (latency, not throughput) far below
    # half of it. Loose bounds: a loaded core only slows the FMAs, and the clock is timed separately.
    isa = _C.isa()
    bound = machine.FLOP_PER_CYCLE[isa]
    per_cycle = _C.measure_fma_gflops(10) * 1000 / _C.measure_clock_mhz(10)
    assert bound / 8 < per_cycle < bound * 1.5, (isa, per_cycle)
    fpc, source = machine.flop_per_cycle(isa, _C.measure_clock_mhz(10))
    assert fpc <= bound and fpc & (fpc - 1) == 0 and source.startswith("measured "), (fpc, source)


def test_flop_per_cycle_falls_back_to_the_isa_bound_without_a_clock():
    assert machine.flop_per_cycle("avx2", None) == (32, "ISA bound")


@pytest.mark.parametrize("fn", ["measure_clock_mhz", "measure_fma_gflops"])
@pytest.mark.parametrize("ms", [0, -1.0, float("nan"), 1e6])
def test_timers_reject_bad_durations(fn, ms):
    with pytest.raises(ValueError, match=f"{fn}: ms must be in"):
        getattr(_C, fn)(ms)

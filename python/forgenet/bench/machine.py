"""What the machine can do: threads, the ISA path the kernels take, the clock and the fp32 peak.

Peak = threads x fp32 FLOP per cycle x clock, both per core timed on this machine:
- the clock (forgenet._C.measure_clock_mhz: chains of dependent 1-cycle integer adds, the best chunk of
  ~20 ms) is the clock the core really runs at, turbo included, on a VM too; the nominal clock (sysfs
  cpufreq's cpuinfo_max_freq, else the highest 'cpu MHz' of /proc/cpuinfo) is recorded beside it as
  clock_nominal_mhz, and stands in only where the timing is unavailable;
- FLOP per cycle (forgenet._C.measure_fma_gflops: independent FMAs of the kernels' ISA width, the best
  chunk, over the clock) is what the core sustains, taken as the smallest power of two of at least 3/4
  of it and at most the ISA's two-pipe bound FLOP_PER_CYCLE (avx512 16 lanes x 2 FMA x 2 FLOP = 64,
  avx2 32, generic: SSE's 4 lanes x 2 multiply and 2 add pipes = 16). The ISA alone does not tell:
  AMD Zen 4 runs 512-bit FMAs through 256-bit pipes, 32 FLOP a cycle, and a % of 64 would halve every
  figure. Where the rate cannot be timed the bound stands in.
--clock-mhz overrides the clock. One busy core's clock: with every core busy, turbo may run lower.
"""
from __future__ import annotations

import glob
import math
import os
import platform

import forgenet

FLOP_PER_CYCLE = {"avx512": 64, "avx2": 32, "generic": 16}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nominal_clock_mhz() -> tuple[float | None, str]:
    """(MHz, where it came from) as the OS reports it; (None, 'unknown') when neither source exists."""
    freqs = []
    for path in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq"):
        try:
            with open(path) as f:
                freqs.append(int(f.read()) / 1000.0)
        except (OSError, ValueError):
            pass
    if freqs:
        return max(freqs), "sysfs cpuinfo_max_freq"
    try:
        with open("/proc/cpuinfo") as f:
            mhz = [float(line.split(":", 1)[1]) for line in f if line.startswith("cpu MHz")]
        if mhz:
            return max(mhz), "/proc/cpuinfo cpu MHz"
    except (OSError, ValueError):
        pass
    return None, "unknown"


def measured_clock_mhz(ms: float = 20.0) -> float | None:
    """The core clock timed by forgenet._C.measure_clock_mhz, or None where it cannot be timed."""
    from forgenet import _C

    measure = getattr(_C, "measure_clock_mhz", None)
    mhz = measure(ms) if measure is not None else 0.0
    return mhz if mhz > 0 else None


def clock_mhz() -> tuple[float | None, str]:
    """(MHz, 'measured'), or the nominal clock and its source where timing is unavailable."""
    mhz = measured_clock_mhz()
    return (mhz, "measured") if mhz is not None else nominal_clock_mhz()


def flop_per_cycle(isa: str, mhz: float | None, ms: float = 20.0) -> tuple[int, str]:
    """(fp32 FLOP per cycle of one core on this ISA path, where it came from)."""
    from forgenet import _C

    bound = FLOP_PER_CYCLE.get(isa, FLOP_PER_CYCLE["generic"])
    measure = getattr(_C, "measure_fma_gflops", None)
    gflops = measure(ms) if measure is not None and mhz else 0.0
    if not gflops > 0:
        return bound, "ISA bound"
    per_cycle = gflops * 1000.0 / mhz
    # the smallest power of two at least 3/4 of the rate, never above the bound: a rate timed somewhat
    # low (a busy sibling, a clock timed high) keeps the larger peak, so % of peak errs low, not high
    snapped = min(bound, 2 ** max(0, math.ceil(math.log2(0.75 * per_cycle))))
    return snapped, f"measured {per_cycle:.1f}"


def cpu_info(threads: int | None = None, clock_override: float | None = None) -> dict:
    """The machine fields every benchmark output records."""
    from forgenet import _C

    isa = _C.isa()
    threads = threads or forgenet.get_num_threads()
    mhz, source = (clock_override, "--clock-mhz") if clock_override else clock_mhz()
    nominal, nominal_source = nominal_clock_mhz()
    fpc, fpc_source = flop_per_cycle(isa, mhz if source == "measured" else measured_clock_mhz())
    kernel = _C.gemm_kernel()
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "threads": threads,
        "isa": isa,
        "forgenet_isa_env": os.environ.get("FORGENET_ISA", ""),
        "gemm_kernel": "%s %dx%d" % tuple(kernel) if isinstance(kernel, tuple) and len(kernel) == 3 else str(kernel),
        "clock_mhz": mhz,
        "clock_source": source,
        "clock_nominal_mhz": nominal,
        "clock_nominal_source": nominal_source,
        "flop_per_cycle": fpc,
        "flop_per_cycle_source": fpc_source,
        "peak_gflops": None if mhz is None else threads * fpc * mhz / 1000.0,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "forgenet": forgenet.__version__,
    }


# FP32 lanes per SM by compute capability (the CUDA C programming guide's throughput table)
_FP32_PER_SM = {(7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 7): 128, (8, 9): 128, (9, 0): 128}


def gpu_info() -> dict | None:
    """The current CUDA device's name and fp32 peak (SMs x FP32 lanes x 2 x clock), via CuPy."""
    try:
        import cupy
    except ImportError:
        return None
    try:
        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
    except Exception:  # noqa: BLE001 - no driver / no device: no GPU fields
        return None
    cc = (int(props["major"]), int(props["minor"]))
    lanes = _FP32_PER_SM.get(cc, 128)
    mhz = props["clockRate"] / 1000.0
    return {"gpu": props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"]),
            "compute_capability": "%d.%d" % cc, "sms": props["multiProcessorCount"], "gpu_clock_mhz": mhz,
            "gpu_peak_gflops": props["multiProcessorCount"] * lanes * 2 * mhz / 1000.0}

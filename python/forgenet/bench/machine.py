"""What the machine can do: threads, the ISA path the kernels take, the clock and the fp32 peak.

Peak = threads x fp32 FLOP per cycle of the kernels' ISA x clock. FLOP per cycle assumes two FMA
pipes of the ISA's width (avx512: 16 lanes x 2 FMA x 2 FLOP = 64; avx2: 8 x 2 x 2 = 32; generic, no
FMA: 4 lanes x (1 add + 1 mul) = 8): an upper bound (some cores split or double-pump the widest
FMAs). The clock is timed (forgenet._C.measure_clock_mhz: chains of dependent 1-cycle integer adds,
the best chunk of ~20 ms), so it is the clock the core really runs at, turbo included, on a VM too;
the nominal clock (sysfs cpufreq's cpuinfo_max_freq, else the highest 'cpu MHz' of /proc/cpuinfo) is
recorded beside it as clock_nominal_mhz, and stands in only where the timing is unavailable.
--clock-mhz overrides both. One busy core's clock: with every core busy, turbo may run lower.
"""
from __future__ import annotations

import glob
import os
import platform

import forgenet

FLOP_PER_CYCLE = {"avx512": 64, "avx2": 32, "generic": 8}


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


def cpu_info(threads: int | None = None, clock_override: float | None = None) -> dict:
    """The machine fields every benchmark output records."""
    from forgenet import _C

    isa = _C.isa()
    threads = threads or forgenet.get_num_threads()
    mhz, source = (clock_override, "--clock-mhz") if clock_override else clock_mhz()
    nominal, nominal_source = nominal_clock_mhz()
    fpc = FLOP_PER_CYCLE.get(isa, FLOP_PER_CYCLE["generic"])
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

// The core clock as the CPU runs it, timed: the peak in forgenet.bench is cores x FMA width x clock,
// and the nominal clock (sysfs, /proc/cpuinfo) is neither the turbo nor a VM's real one.
#pragma once

#include <cstdint>

#include "cpu/dispatch.h"

// isa/fma_rate.cpp: `iters` rounds of FMAs on independent accumulators, and the FLOP one round does
FORGENET_ISA_DECLARE(float fma_chains(int64_t iters, float seed); double fma_flop_per_iter())

namespace forgenet {

// MHz of the calling thread's core, the best rate over ~`ms` milliseconds of timed chunks of
// dependent integer adds (one cycle of latency each on every x86 and ARM core). Interruptions only
// slow a chunk down, so the best chunk is the clock.
double measure_clock_mhz(double ms);

// GFLOP/s of one core issuing the widest fp32 FMAs of the ISA path the kernels take (best_isa()),
// timed the same way: the best chunk over ~`ms` milliseconds. Divided by the clock it is the FLOP per
// cycle the core really sustains, which the ISA alone does not tell (Zen 4 runs 512-bit FMAs at
// half the rate of a core with two 512-bit FMA pipes).
double measure_fma_gflops(double ms);

}  // namespace forgenet

// The core clock as the CPU runs it, timed: the peak in forgenet.bench is cores x FMA width x clock,
// and the nominal clock (sysfs, /proc/cpuinfo) is neither the turbo nor a VM's real one.
#pragma once

namespace forgenet {

// MHz of the calling thread's core, the best rate over ~`ms` milliseconds of timed chunks of
// dependent integer adds (one cycle of latency each on every x86 and ARM core). Interruptions only
// slow a chunk down, so the best chunk is the clock.
double measure_clock_mhz(double ms);

}  // namespace forgenet

// forgenet._C.measure_clock_mhz, measure_fma_gflops: the timed clock and FMA rate behind forgenet.bench's
// peak figures.
#include <cmath>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/clock.h"

namespace py = pybind11;

namespace forgenet::bind {

namespace {
// The two timers take the same `ms` and run without the GIL: one wrapper for both.
template <double (*Measure)(double)>
auto timed(const char* name) {
  return [name](double ms) {
    if (!std::isfinite(ms) || ms <= 0 || ms > 10000)
      value_error(name, ": ms must be in (0, 10000] milliseconds, got ", ms);
    py::gil_scoped_release release;
    return Measure(ms);
  };
}
}  // namespace

void bind_clock(py::module_& m) {
  m.def("measure_clock_mhz", timed<measure_clock_mhz>("measure_clock_mhz"), py::arg("ms") = 20.0,
        "The calling thread's core clock in MHz, timed: the best rate of chunks of dependent integer adds\n"
        "(1 cycle each) over about `ms` milliseconds. Under turbo this is the boosted clock of one busy\n"
        "core; on a loaded machine it can only come out low, never high.");
  m.def("measure_fma_gflops", timed<measure_fma_gflops>("measure_fma_gflops"), py::arg("ms") = 20.0,
        "fp32 GFLOP/s of the calling thread's core issuing independent FMAs of the widest vectors of the\n"
        "ISA path the kernels take (isa()), timed like measure_clock_mhz: the best chunk over about `ms`\n"
        "milliseconds. Over the clock it gives the FLOP per cycle the core sustains: 64 on a core with two\n"
        "512-bit FMA pipes, 32 on AVX2 and on cores that split 512-bit FMAs in two (AMD Zen 4).");
}

}  // namespace forgenet::bind

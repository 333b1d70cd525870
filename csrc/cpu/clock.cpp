#include "cpu/clock.h"

#include <chrono>
#include <cstdint>

namespace forgenet {
namespace {

// The empty asm claims to read and rewrite x: the compiler can neither fold the adds into one
// multiply-add nor vectorise them, so each is one `add` waiting on the previous one.
#define FORGENET_DEP_ADD asm volatile("add %1, %0" : "+r"(x) : "r"(y))
#if !(defined(__x86_64__) || defined(__i386__))
#undef FORGENET_DEP_ADD
#define FORGENET_DEP_ADD \
  x += y;                \
  asm volatile("" : "+r"(x))
#endif
#define FORGENET_ADD8                                                                                   \
  FORGENET_DEP_ADD; FORGENET_DEP_ADD; FORGENET_DEP_ADD; FORGENET_DEP_ADD; FORGENET_DEP_ADD;          \
  FORGENET_DEP_ADD; FORGENET_DEP_ADD; FORGENET_DEP_ADD

constexpr int64_t kAddsPerIter = 64;

// The loop counter and branch run on other ports in the shadow of the 64-add chain, so a chunk takes
// iters x 64 cycles.
uint64_t add_chain(int64_t iters, uint64_t y) {
  uint64_t x = 0;
  asm volatile("" : "+r"(y));
  for (int64_t i = 0; i < iters; ++i) {
    FORGENET_ADD8; FORGENET_ADD8; FORGENET_ADD8; FORGENET_ADD8;
    FORGENET_ADD8; FORGENET_ADD8; FORGENET_ADD8; FORGENET_ADD8;
  }
  return x;
}

}  // namespace

double measure_clock_mhz(double ms) {
  using clock = std::chrono::steady_clock;
  // ~1M cycles a chunk: a few hundred microseconds, long against the timer, short against a time slice
  constexpr int64_t iters = 1 << 14;
  volatile uint64_t sink = add_chain(iters, 1);  // wake the core from its idle clock first
  double best = 0.0;
  const auto stop = clock::now() + std::chrono::duration<double, std::milli>(ms);
  do {
    const auto t0 = clock::now();
    sink = sink + add_chain(iters, 1);
    const double us = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
    if (us > 0) {
      const double mhz = static_cast<double>(iters * kAddsPerIter) / us;
      if (mhz > best) best = mhz;
    }
  } while (clock::now() < stop);
  return best;
}

}  // namespace forgenet

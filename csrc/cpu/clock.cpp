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

// the best-rate chunk loop both measurements share: `chunk()` does `work` units, the result is
// units/us; interruptions only slow a chunk down, so the best chunk is the machine's rate
template <class F>
double best_rate(double ms, double work, F chunk) {
  using clock = std::chrono::steady_clock;
  chunk();  // wake the core from its idle clock first
  double best = 0.0;
  const auto stop = clock::now() + std::chrono::duration<double, std::milli>(ms);
  do {
    const auto t0 = clock::now();
    chunk();
    const double us = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
    if (us > 0 && work / us > best) best = work / us;
  } while (clock::now() < stop);
  return best;
}

}  // namespace

double measure_clock_mhz(double ms) {
  // ~1M cycles a chunk: a few hundred microseconds, long against the timer, short against a time slice
  constexpr int64_t iters = 1 << 14;
  volatile uint64_t sink = 0;
  return best_rate(ms, static_cast<double>(iters * kAddsPerIter), [&] { sink = sink + add_chain(iters, 1); });
}

double measure_fma_gflops(double ms) {
  constexpr int64_t iters = 1 << 16;  // 12 FMAs a round: ~400k cycles a chunk at 2 FMAs a cycle
  volatile float sink = 0.0f;
  const double flop = static_cast<double>(iters) * FORGENET_ISA_CALL(fma_flop_per_iter);
  return best_rate(ms, flop, [&] { sink = sink + FORGENET_ISA_CALL(fma_chains, iters, 1.0f); }) / 1000.0;
}

}  // namespace forgenet

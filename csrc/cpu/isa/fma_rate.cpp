// The FMA throughput behind forgenet.bench's peak (cpu/clock.h): one build per ISA, so the rate timed
// is that of the widest FMA the kernels of this path issue.
#include "cpu/clock.h"  // (its FORGENET_ISA_DECLARE brings dispatch.h)

namespace forgenet::FORGENET_ISA_NS {

// kChains independent accumulators: more than FMA latency (4-5 cycles) x FMA pipes (2) on the cores
// we know, so the chains never wait on each other and the loop runs at the pipes' issue rate. Double
// pumped 512-bit FMAs (AMD Zen 4) come out at half the 16-lane rate, which is the point of timing.
constexpr int kChains = 12;

float fma_chains(int64_t iters, float seed) {
  V::T acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = V::set1(seed * static_cast<float>(c + 1));
  // a and b near 1 keep the accumulators finite over millions of steps (no denormals, no infs,
  // either of which could slow the FMAs down)
  V::T a = V::set1(0.999999f), b = V::set1(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = V::fma(acc[c], a, b);
  }
  V::T s = acc[0];
  for (int c = 1; c < kChains; ++c) s = V::add(s, acc[c]);
  return V::hsum(s);
}

double fma_flop_per_iter() { return 2.0 * kChains * V::W; }

}  // namespace forgenet::FORGENET_ISA_NS

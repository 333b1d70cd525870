// The fused attention built per ISA (dispatch.h): the tile loops of attention_tiles.h over the
// micro-kernels of attention_simd.h, written once over simd::Vec; this file only picks each ISA's
// register tile and block sizes.
#include "cpu/dispatch.h"
#include "cpu/attention.h"
#include "cpu/attention_simd.h"

#ifndef FORGENET_ATTN_AVX2_TILES  // (a build-time override for tuning experiments)
#define FORGENET_ATTN_AVX2_TILES 48, 256, 48, 96
#endif

namespace forgenet::FORGENET_ISA_NS {

namespace {
#if FORGENET_ISA_KIND == 2
// 8 x 32 register tile (16 zmm accumulators); 64-query blocks, 256 keys forward, 64 backward
using Kernels = SimdKernels<V, 8, 2, 64, 256, 64, 64>;
#elif FORGENET_ISA_KIND == 1
// 6 x 16 register tile (12 ymm + 2 for B + 1 broadcast: 15 of 16); forward 48 queries x 256 keys,
// backward 48 x 96 (a wider key block halves the Q, dO, dQ streaming per flop, which shows from N = 4096)
using Kernels = SimdKernels<V, 6, 2, FORGENET_ATTN_AVX2_TILES>;
#else
// 4 x 8 (two 4-float vectors): what 16 SSE registers hold on a baseline x86-64
using Kernels = SimdKernels<V, 4, 2, 64, 256, 64, 64>;
#endif
}  // namespace

void attention_forward_tiles(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                             float* lse) {
  forward_tiles<Kernels>(s, q, k, v, o, lse);
}

void attention_backward_tiles(const AttnShape& s, const float* do_, const float* q, const float* k,
                              const float* v, const float* o, const float* lse, float* dq, float* dk,
                              float* dv) {
  backward_tiles<Kernels>(s, do_, q, k, v, o, lse, dq, dk, dv);
}

}  // namespace forgenet::FORGENET_ISA_NS

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

AttnTiles attention_tiles() { return tiles<Kernels>(); }

void attention_fwd_pack(const AttnShape& s, const AttnFwdPlan& p, const float* k, const float* v, int64_t bh,
                        int64_t kb0, int64_t kb1, float* kv) {
  forward_pack<Kernels>(s, p, k, v, bh, kb0, kb1, kv);
}

void attention_fwd_block(const AttnShape& s, const AttnFwdPlan& p, const float* q, const float* kv, int64_t bh,
                         int64_t qb, float* work, float* o, float* lse) {
  forward_block<Kernels>(s, p, q, kv, bh, qb, work, o, lse);
}

void attention_bwd_head(const AttnShape& s, const AttnBwdPlan& p, const float* do_, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, int64_t bh, int part, int parts,
                        float* slab, float* dk, float* dv) {
  backward_head<Kernels>(s, p, do_, q, k, v, o, lse, bh, part, parts, slab, dk, dv);
}

}  // namespace forgenet::FORGENET_ISA_NS

// AVX2 + FMA attention (compiled with -mavx2 -mfma; entered only after best_isa()): the vector
// traits of attention_simd.h for ymm. The GEMM micro-kernel keeps a 6 x 16 block of C in 12 ymm
// registers (+ 2 for B + 1 broadcast: 15 of 16).
#include <immintrin.h>

#include "cpu/attention_simd.h"
#include "cpu/simd/vec.h"

namespace forgenet {

namespace {

using Avx2Vec = simd::Avx2Vec;  // the traits of cpu/simd/vec.h

#ifndef FORGENET_ATTN_AVX2_TILES  // (a build-time override for tuning experiments)
#define FORGENET_ATTN_AVX2_TILES 48, 256, 48, 96
#endif
// 6 x 16 register tile; forward 48 queries x 256 keys, backward 48 queries x 96 keys (a wider key
// block halves the Q, dO, dQ streaming per flop, which shows from N = 4096).
using Avx2Kernels = SimdKernels<Avx2Vec, 6, 2, FORGENET_ATTN_AVX2_TILES>;

}  // namespace

void attention_forward_avx2(const AttnShape& s, const float* q, const float* k, const float* v,
                            float* o, float* lse) {
  forward_tiles<Avx2Kernels>(s, q, k, v, o, lse);
}

void attention_backward_avx2(const AttnShape& s, const float* do_, const float* q, const float* k,
                             const float* v, const float* o, const float* lse, float* dq,
                             float* dk, float* dv) {
  backward_tiles<Avx2Kernels>(s, do_, q, k, v, o, lse, dq, dk, dv);
}

}  // namespace forgenet

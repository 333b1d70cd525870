// AVX-512 attention (compiled with -mavx512f...; entered only after best_isa()): the vector traits of
// attention_simd.h for zmm. The GEMM micro-kernel keeps an 8 x 32 block of C in 16 zmm registers
// (the tile of the project's AVX-512 SGEMM), which leaves room for B and the broadcasts.
#include <immintrin.h>

#include "cpu/attention_simd.h"
#include "cpu/simd/vec.h"

namespace forgenet {

namespace {

using Avx512Vec = simd::Avx512Vec;  // the traits of cpu/simd/vec.h

// 8 x 32 register tile; forward 64 queries x 256 keys, backward 64 x 64.
using Avx512Kernels = SimdKernels<Avx512Vec, 8, 2, 64, 256, 64, 64>;

}  // namespace

void attention_forward_avx512(const AttnShape& s, const float* q, const float* k, const float* v,
                              float* o, float* lse) {
  forward_tiles<Avx512Kernels>(s, q, k, v, o, lse);
}

void attention_backward_avx512(const AttnShape& s, const float* do_, const float* q, const float* k,
                               const float* v, const float* o, const float* lse, float* dq,
                               float* dk, float* dv) {
  backward_tiles<Avx512Kernels>(s, do_, q, k, v, o, lse, dq, dk, dv);
}

}  // namespace forgenet

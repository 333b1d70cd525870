// AVX2 micro-kernel: 6 x 16 tile of C in 12 ymm accumulators (+2 for B, 1 broadcast: 15 of 16
// registers). Edge tiles go through a small stack tile, since AVX2 has no cheap write masks.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace forgenet::gemm {
namespace {

constexpr int MR = 6, NR = 16;

void ukernel(int64_t k, const float* __restrict a, const float* __restrict b, float* __restrict c,
             int64_t ldc, float alpha, float beta, int m, int n) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;
    b += NR;
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (m == MR && n == NR) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    }
    return;
  }
  alignas(32) float tile[MR][NR];
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(tile[i], _mm256_mul_ps(va, acc[i][0]));
    _mm256_store_ps(tile[i] + 8, _mm256_mul_ps(va, acc[i][1]));
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float& cij = c[i * ldc + j];
      cij = beta == 0.0f ? tile[i][j] : tile[i][j] + beta * cij;
    }
}

}  // namespace

const Kernel& kernel_avx2() {
  static const Kernel k{"avx2", MR, NR, /*mc=*/144, /*kc=*/256, /*nc=*/512, ukernel};
  return k;
}

}  // namespace forgenet::gemm

// AVX2 micro-kernels: 6 x 16 (12 ymm accumulators + 2 for B + 1 broadcast: 15 of 16 registers) for
// wide C, 12 x 8 for narrow C (N <= 8). Edge tiles go through a stack tile: AVX2 has no cheap masks.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace forgenet::gemm {
namespace {

template <int MR, int NV, bool ROWS>
void ukernel(int64_t k, const float* __restrict a, int64_t sa, const float* __restrict b,
             float* __restrict c, int64_t ldc, float alpha, float beta, int m, int n) {
  constexpr int NR = 8 * NV;
  __m256 acc[MR][NV];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (int64_t p = 0; p < k; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ROWS ? a + i * sa : a + i);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += ROWS ? 1 : sa;
    b += NR;
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (m == MR && n == NR) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        __m256 r = _mm256_mul_ps(va, acc[i][v]);
        if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8 * v), r);
        _mm256_storeu_ps(ci + 8 * v, r);
      }
    }
    return;
  }
  alignas(32) float tile[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) _mm256_store_ps(tile[i] + 8 * v, _mm256_mul_ps(va, acc[i][v]));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float& cij = c[i * ldc + j];
      cij = beta == 0.0f ? tile[i][j] : tile[i][j] + beta * cij;
    }
}

}  // namespace

const Kernel& kernel_avx2(int64_t n) {
  static const Kernel wide{"avx2", 6, 16, /*mc=*/144, /*kc=*/256, /*nc=*/512,
                           ukernel<6, 2, false>, ukernel<6, 2, true>};
  static const Kernel narrow{"avx2", 12, 8, /*mc=*/144, /*kc=*/256, /*nc=*/512,
                             ukernel<12, 1, false>, ukernel<12, 1, true>};
  return n <= 8 ? narrow : wide;
}

}  // namespace forgenet::gemm

// AVX-512 micro-kernels: MR rows x NV zmm vectors of C in registers. 8 x 32 (16 accumulators) is the
// default — on Zen4 it is as fast as 12 x 32 and wastes less on small M; 12 x 32 is taken where it
// pads M less (M = 9..12: a 3x3 conv's weight gradient), 16 x 16 for narrow C (a conv's input
// gradient with few channels).
// Each k step loads NV vectors of B and broadcasts MR scalars of A; Zen4 retires one zmm FMA per
// cycle, so the loads stay off the critical path. Edge tiles use write masks.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace forgenet::gemm {
namespace {

template <int MR, int NV, bool ROWS>
void ukernel(int64_t k, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
             float* __restrict c, int64_t ldc, float alpha, float beta, int m, int n) {
  constexpr int NR = 16 * NV;
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  }

#pragma GCC unroll 2
  for (int64_t p = 0; p < k; ++p) {
    __m512 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(ROWS ? a[i * sa] : a[i]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += ROWS ? 1 : sa;
    b += sb;
  }

  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) {
    const int left = n - 16 * v;
    mask[v] = left >= 16 ? 0xFFFF : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
  }
  const bool full = m == MR && n == NR;
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    float* ci = c + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      __m512 r = _mm512_mul_ps(va, acc[i][v]);
      if (full) {
        if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + 16 * v), r);
        _mm512_storeu_ps(ci + 16 * v, r);
      } else {
        if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], ci + 16 * v), r);
        _mm512_mask_storeu_ps(ci + 16 * v, mask[v], r);
      }
    }
  }
}

// The implicit-GEMM form (gemm_kernels.h): the same register tile, A's rows gathered from MR pointers.
template <int MR, int NV>
void gather(const float* const* rows, int pieces, const int64_t* off, const int64_t* len,
            const float* __restrict b, float* __restrict c, int64_t ldc, const float* bias, bool accumulate,
            int m, int n) {
  constexpr int NR = 16 * NV;
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) {
    const int left = n - 16 * v;
    mask[v] = left >= 16 ? 0xFFFF : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      acc[i][v] = accumulate ? (i < m ? _mm512_maskz_loadu_ps(mask[v], c + i * ldc + 16 * v) : _mm512_setzero_ps())
                  : bias     ? _mm512_loadu_ps(bias + 16 * v)
                             : _mm512_setzero_ps();
  for (int q = 0; q < pieces; ++q) {
    const float* a[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) a[i] = rows[i] + off[q];
    const int64_t k = len[q];
#pragma GCC unroll 2
    for (int64_t p = 0; p < k; ++p) {
      __m512 bv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512 ai = _mm512_set1_ps(a[i][p]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      b += NR;
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + i * ldc + 16 * v, mask[v], acc[i][v]);
  }
}

}  // namespace

int kernels_avx512(const Kernel** list) {
  // {name, mr, nr, mc, kc, nc, ...}; kc = 512: an A panel (8 x 512) fills half of L1, a B block
  // (512 x 512) one Zen4 L2.
  static const Kernel k[3] = {
      {"avx512", 8, 32, 144, 512, 512, ukernel<8, 2, false>, ukernel<8, 2, true>, transpose8_avx2,
       gather<8, 2>},
      {"avx512", 12, 32, 144, 512, 512, ukernel<12, 2, false>, ukernel<12, 2, true>, transpose8_avx2,
       gather<12, 2>},
      {"avx512", 16, 16, 144, 512, 512, ukernel<16, 1, false>, ukernel<16, 1, true>, transpose8_avx2,
       gather<16, 1>}};
  *list = k;
  return 3;
}

}  // namespace forgenet::gemm

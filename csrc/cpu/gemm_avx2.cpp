// AVX2 micro-kernels: 6 x 16 (12 ymm accumulators + 2 for B + 1 broadcast: 15 of 16 registers) for
// wide C, 12 x 8 for narrow C, 4 x 24 (12 + 3 + 1: all 16) where M is a multiple of 4 and not of 6
// (a batch of 32 against a wide weight: 6 x 16 would pad 32 rows to 36). Edge tiles go through a stack tile: AVX2 has no cheap masks.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace forgenet::gemm {
namespace {

template <int MR, int NV, bool ROWS>
void ukernel(int64_t k, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
             float* __restrict c, int64_t ldc, float alpha, float beta, int m, int n) {
  constexpr int NR = 8 * NV;
  __m256 acc[MR][NV];
  // C is touched only after the k loop: fetch its tile now, so its (L3, often set-conflicting: rows a
  // power of two apart) misses overlap the FMAs instead of stalling the stores
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  }

#pragma GCC unroll 4
  for (int64_t p = 0; p < k; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ROWS ? a + i * sa : a + i);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += ROWS ? 1 : sa;
    b += sb;
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (m == MR && n == NR) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) {
        __m256 r = _mm256_mul_ps(va, acc[i][v]);
        if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8 * v), r);
        _mm256_storeu_ps(ci + 8 * v, r);
      }
    }
    return;
  }
  alignas(32) float tile[MR][NR];
  // (constant indices throughout: any variable index into acc would make GCC keep it in memory)
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) _mm256_store_ps(tile[i] + 8 * v, _mm256_mul_ps(va, acc[i][v]));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float& cij = c[i * ldc + j];
      cij = beta == 0.0f ? tile[i][j] : tile[i][j] + beta * cij;
    }
}

// The implicit-GEMM form (gemm_kernels.h): the same register tile, A's rows gathered from MR pointers.
template <int MR, int NV>
void gather(const float* const* rows, int pieces, const int64_t* off, const int64_t* len,
            const float* __restrict b, float* __restrict c, int64_t ldc, const float* bias, bool accumulate,
            int m, int n) {
  constexpr int NR = 8 * NV;
  const bool full = m == MR && n == NR;
  alignas(32) float tile[MR][NR];
  __m256 acc[MR][NV];
  if (accumulate && !full) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) tile[i][j] = i < m && j < n ? c[i * ldc + j] : 0.0f;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v)
      acc[i][v] = accumulate ? (full ? _mm256_loadu_ps(c + i * ldc + 8 * v) : _mm256_load_ps(tile[i] + 8 * v))
                  : bias     ? _mm256_loadu_ps(bias + 8 * v)
                             : _mm256_setzero_ps();
  for (int q = 0; q < pieces; ++q) {
    const float* a[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) a[i] = rows[i] + off[q];
    const int64_t k = len[q];
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; ++p) {
      __m256 bv[NV];
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 12
      for (int i = 0; i < MR; ++i) {
        const __m256 ai = _mm256_broadcast_ss(a[i] + p);
#pragma GCC unroll 3
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      b += NR;
    }
  }
  if (full) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
    return;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) _mm256_store_ps(tile[i] + 8 * v, acc[i][v]);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] = tile[i][j];
}

}  // namespace

// 8 x 8 blocks through registers: unpack pairs of rows, shuffle quads, swap 128-bit halves.
void transpose8_avx2(int64_t k, const float* src, int64_t lds, float* dst, int64_t ldd) {
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 r[8], t[8], q[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds + p);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // r_i[0] r_i+1[0] r_i[1] r_i+1[1] | same at 4, 5
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // ... at 2, 3 | 6, 7
    }
    for (int h = 0; h < 8; h += 4)
      for (int u = 0; u < 2; ++u) {
        q[h + 2 * u] = _mm256_shuffle_ps(t[h + u], t[h + u + 2], _MM_SHUFFLE(1, 0, 1, 0));
        q[h + 2 * u + 1] = _mm256_shuffle_ps(t[h + u], t[h + u + 2], _MM_SHUFFLE(3, 2, 3, 2));
      }
    // q[c] (c < 4) holds column c of rows 0-3 in its low half and column c + 4 in its high half.
    for (int c = 0; c < 4; ++c) {
      _mm256_storeu_ps(dst + (p + c) * ldd, _mm256_permute2f128_ps(q[c], q[c + 4], 0x20));
      _mm256_storeu_ps(dst + (p + c + 4) * ldd, _mm256_permute2f128_ps(q[c], q[c + 4], 0x31));
    }
  }
  for (; p < k; ++p)
    for (int i = 0; i < 8; ++i) dst[p * ldd + i] = src[i * lds + p];
}

int kernels_avx2(const Kernel** list) {
  static const Kernel k[3] = {
      // {name, mr, nr, mc, kc, nc, ...}
      {"avx2", 6, 16, 144, 256, 512, ukernel<6, 2, false>, ukernel<6, 2, true>, transpose8_avx2,
       gather<6, 2>},
      {"avx2", 12, 8, 144, 256, 512, ukernel<12, 1, false>, ukernel<12, 1, true>, transpose8_avx2,
       gather<12, 1>},
      // kc = 160: the B panel (160 x 24 floats, 15 KiB) stays in half of L1 as 6 x 16's does
      {"avx2", 4, 24, 144, 160, 480, ukernel<4, 3, false>, ukernel<4, 3, true>, transpose8_avx2,
       gather<4, 3>}};
  *list = k;
  return 3;
}

}  // namespace forgenet::gemm

// The GEMM micro-kernel sets (gemm_kernels.h), one per ISA in this one source (dispatch.h builds it
// generic, avx2 and avx512). As in BLIS the micro-kernels stay hand-written per ISA: each register file
// wants its own tile shapes, edge handling (AVX2 has no cheap masks, AVX-512 does) and unrolling, so
// each ISA's section below holds its kernels and its table of tiles; gemm.cpp's loops are shared.
#include "cpu/dispatch.h"
#include "cpu/gemm_kernels.h"

#if FORGENET_ISA_KIND >= 1
#include <immintrin.h>
#endif

namespace forgenet::FORGENET_ISA_NS {

using gemm::Kernel;

#if FORGENET_ISA_KIND >= 1
namespace {
// 8 x 8 blocks through registers: unpack pairs of rows, shuffle quads, swap 128-bit halves (AVX2
// instructions; the AVX-512 set packs with it too). Fewer than 8 rows transpose as 8 with zero rows;
// with ldd == rows >= 4 each column is stored 8 wide in ascending order, its zero tail overwritten by the
// next column's store (the last column of the last block goes through a stack copy: it must not spill
// past the panel).
void transpose8(int rows, int64_t k, const float* src, int64_t lds, float* dst, int64_t ldd) {
  const bool overlap = rows >= 4 && rows < 8 && ldd == rows;
  int64_t p = 0;
  if (rows == 8 || overlap)
    for (; p + 8 <= k; p += 8) {
      __m256 r[8], t[8], q[8], col[8];
      for (int i = 0; i < 8; ++i) r[i] = i < rows ? _mm256_loadu_ps(src + i * lds + p) : _mm256_setzero_ps();
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
        col[c] = _mm256_permute2f128_ps(q[c], q[c + 4], 0x20);
        col[c + 4] = _mm256_permute2f128_ps(q[c], q[c + 4], 0x31);
      }
      for (int c = 0; c < 7; ++c) _mm256_storeu_ps(dst + (p + c) * ldd, col[c]);
      if (overlap && p + 8 == k) {
        alignas(32) float last[8];
        _mm256_store_ps(last, col[7]);
        for (int i = 0; i < rows; ++i) dst[(p + 7) * ldd + i] = last[i];
      } else {
        _mm256_storeu_ps(dst + (p + 7) * ldd, col[7]);
      }
    }
  for (; p < k; ++p)
    for (int i = 0; i < rows; ++i) dst[p * ldd + i] = src[i * lds + p];
}

// The C tile's lines: each row's first and last float, so a row that straddles two lines has both
// fetched. (_MM_HINT_ET0, prefetchw, compiles to prefetcht0 without -mprfchw, which AVX2 does not imply.)
template <int MR, int NR>
__attribute__((always_inline)) inline void prefetch_c_tile(const float* c, int64_t ldc) {
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
}

// k steps before a tile's end at which its C lines are fetched into L1 again: ~100 cycles of FMAs
// at 6 x 16, enough for an L2 hit, too few for the streaming panels to evict them again.
constexpr int64_t kLateC = 16;

}  // namespace
#endif

#if FORGENET_ISA_KIND == 1
// AVX2: 6 x 16 (12 ymm accumulators + 2 for B + 1 broadcast: 15 of 16 registers) for
// wide C, 12 x 8 for narrow C, 4 x 24 (12 + 3 + 1: all 16) where M is a multiple of 4 and not of 6
// (a batch of 32 against a wide weight: 6 x 16 would pad 32 rows to 36), and 4 x 16 where neither
// fits (32 rows against 64 columns; its 8 accumulators are just the FMA pipes' depth, so it comes
// last in the list). Edge tiles go through a stack tile: AVX2 has no cheap masks.
namespace {

template <int MR, int NV, bool ROWS, bool PACK>
void tile(int64_t k, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
          float* __restrict c, int64_t ldc, float alpha, float beta, int m, int n, float* __restrict bp_out) {
  constexpr int NR = 8 * NV;
  __m256 acc[MR][NV];
  // C is touched only after the k loop: fetch its tile now, so that its misses (L3: C's rows rarely
  // stay in L2) overlap the FMAs, and again kLateC steps before the end, because rows a power of two
  // apart share one L1 set, from which the streaming A and B panels may have evicted them by then
  // (1-4% at 1024^3 in a stand-alone copy of these loops on Zen 3; within the noise under load)
  prefetch_c_tile<MR, NR>(c, ldc);
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();

  // (two passes over one loop rather than a test inside it, which GCC kept per k step)
  int64_t p = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const int64_t end = pass == 0 ? k - kLateC : k;
#pragma GCC unroll 4
    for (; p < end; ++p) {
      __m256 bv[NV];
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
      if (PACK) {  // B's rows are sb apart (a page, often): beyond the hardware prefetcher's reach
        _mm_prefetch(reinterpret_cast<const char*>(b + 8 * sb), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(b + 8 * sb + NR - 1), _MM_HINT_T0);
#pragma GCC unroll 3
        for (int v = 0; v < NV; ++v) _mm256_store_ps(bp_out + 8 * v, bv[v]);
        bp_out += NR;
      }
#pragma GCC unroll 12
      for (int i = 0; i < MR; ++i) {
        const __m256 ai = _mm256_broadcast_ss(ROWS ? a + i * sa : a + i);
#pragma GCC unroll 3
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      a += ROWS ? 1 : sa;
      b += sb;
    }
    if (pass == 0 && p > 0) prefetch_c_tile<MR, NR>(c, ldc);
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (m == MR && n == NR) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) {
        __m256 r = alpha == 1.0f ? acc[i][v] : _mm256_mul_ps(va, acc[i][v]);  // (12 multiplies: 1.5% of a K = 64 tile)
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

template <int MR, int NV, bool ROWS>
void ukernel(int64_t k, const float* a, int64_t sa, const float* b, int64_t sb, float* c, int64_t ldc, float alpha,
             float beta, int m, int n) {
  tile<MR, NV, ROWS, false>(k, a, sa, b, sb, c, ldc, alpha, beta, m, n, nullptr);
}

// (a full tile: PackingKernel)
template <int MR, int NV, bool ROWS>
void ukernel_packing_b(int64_t k, const float* a, int64_t sa, const float* b, int64_t sb, float* c, int64_t ldc,
                       float alpha, float beta, float* bp_out) {
  tile<MR, NV, ROWS, true>(k, a, sa, b, sb, c, ldc, alpha, beta, MR, 8 * NV, bp_out);
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

int gemm_kernel_set(const Kernel** list) {
  static const Kernel k[4] = {
      // {name, mr, nr, mc, kc, nc, ...}
      // nc = 4080: A is packed once per K block rather than once per 512 columns (the B block lives
      // in L3, as in BLIS; only its current panel needs L1)
      {"avx2", 6, 16, 144, 256, 4080, ukernel<6, 2, false>, ukernel<6, 2, true>, transpose8,
       gather<6, 2>, ukernel_packing_b<6, 2, false>, ukernel_packing_b<6, 2, true>},
      {"avx2", 12, 8, 144, 256, 512, ukernel<12, 1, false>, ukernel<12, 1, true>, transpose8,
       gather<12, 1>, ukernel_packing_b<12, 1, false>, ukernel_packing_b<12, 1, true>},
      // kc = 160: the B panel (160 x 24 floats, 15 KiB) stays in half of L1 as 6 x 16's does
      {"avx2", 4, 24, 144, 160, 480, ukernel<4, 3, false>, ukernel<4, 3, true>, transpose8,
       gather<4, 3>, ukernel_packing_b<4, 3, false>, ukernel_packing_b<4, 3, true>},
      // (kc = 256: a 16-wide panel as 6 x 16's)
      {"avx2", 4, 16, 144, 256, 512, ukernel<4, 2, false>, ukernel<4, 2, true>, transpose8,
       gather<4, 2>, ukernel_packing_b<4, 2, false>, ukernel_packing_b<4, 2, true>}};
  *list = k;
  return 4;
}

#elif FORGENET_ISA_KIND == 2
// AVX-512: MR rows x NV zmm vectors of C in registers. 8 x 32 (16 accumulators) is the
// default — on Zen4 it is as fast as 12 x 32 and wastes less on small M; 12 x 32 is taken where it
// pads M less (M = 9..12: a 3x3 conv's weight gradient), 16 x 16 for narrow C (a conv's input
// gradient with few channels).
// Each k step loads NV vectors of B and broadcasts MR scalars of A; Zen4 retires one zmm FMA per
// cycle, so the loads stay off the critical path. Edge tiles use write masks.
namespace {

template <int MR, int NV, bool ROWS, bool PACK>
void tile(int64_t k, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
          float* __restrict c, int64_t ldc, float alpha, float beta, int m, int n, float* __restrict bp_out) {
  constexpr int NR = 16 * NV;
  __m512 acc[MR][NV];
  prefetch_c_tile<MR, NR>(c, ldc);  // (as AVX2's)
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();

  int64_t p = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const int64_t end = pass == 0 ? k - kLateC : k;
#pragma GCC unroll 2
    for (; p < end; ++p) {
      __m512 bv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
      if (PACK) {  // as AVX2's
        _mm_prefetch(reinterpret_cast<const char*>(b + 8 * sb), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(b + 8 * sb + NR - 1), _MM_HINT_T0);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) _mm512_storeu_ps(bp_out + 16 * v, bv[v]);
        bp_out += NR;
      }
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512 ai = _mm512_set1_ps(ROWS ? a[i * sa] : a[i]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      a += ROWS ? 1 : sa;
      b += sb;
    }
    if (pass == 0 && p > 0) prefetch_c_tile<MR, NR>(c, ldc);
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

template <int MR, int NV, bool ROWS>
void ukernel(int64_t k, const float* a, int64_t sa, const float* b, int64_t sb, float* c, int64_t ldc, float alpha,
             float beta, int m, int n) {
  tile<MR, NV, ROWS, false>(k, a, sa, b, sb, c, ldc, alpha, beta, m, n, nullptr);
}

// (a full tile: PackingKernel)
template <int MR, int NV, bool ROWS>
void ukernel_packing_b(int64_t k, const float* a, int64_t sa, const float* b, int64_t sb, float* c, int64_t ldc,
                       float alpha, float beta, float* bp_out) {
  tile<MR, NV, ROWS, true>(k, a, sa, b, sb, c, ldc, alpha, beta, MR, 16 * NV, bp_out);
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

int gemm_kernel_set(const Kernel** list) {
  // {name, mr, nr, mc, kc, nc, ...}; kc = 512: an A panel (8 x 512) fills half of L1, a B block
  // (512 x 512) one Zen4 L2.
  static const Kernel k[3] = {
      {"avx512", 8, 32, 144, 512, 512, ukernel<8, 2, false>, ukernel<8, 2, true>, transpose8,
       gather<8, 2>, ukernel_packing_b<8, 2, false>, ukernel_packing_b<8, 2, true>},
      {"avx512", 12, 32, 144, 512, 512, ukernel<12, 2, false>, ukernel<12, 2, true>, transpose8,
       gather<12, 2>, ukernel_packing_b<12, 2, false>, ukernel_packing_b<12, 2, true>},
      {"avx512", 16, 16, 144, 512, 512, ukernel<16, 1, false>, ukernel<16, 1, true>, transpose8,
       gather<16, 1>, ukernel_packing_b<16, 1, false>, ukernel_packing_b<16, 1, true>}};
  *list = k;
  return 3;
}

#else
namespace {

// Plain C++ micro-kernel (4 x 8, what SSE2 registers hold); also the definition the others match.
constexpr int GMR = 4, GNR = 8;

template <bool ROWS>
void ukernel_generic(int64_t k, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
                     float* __restrict c, int64_t ldc, float alpha, float beta, int m, int n) {
  float acc[GMR][GNR] = {};
  for (int64_t p = 0; p < k; ++p, a += ROWS ? 1 : sa, b += sb)
    for (int i = 0; i < GMR; ++i)
      for (int j = 0; j < GNR; ++j) acc[i][j] += (ROWS ? a[i * sa] : a[i]) * b[j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float& cij = c[i * ldc + j];
      cij = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * cij;
    }
}

template <int MR, int NR>
void gather_generic(const float* const* rows, int pieces, const int64_t* off, const int64_t* len,
                    const float* __restrict b, float* __restrict c, int64_t ldc, const float* bias,
                    bool accumulate, int m, int n) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      acc[i][j] = accumulate ? (i < m && j < n ? c[i * ldc + j] : 0.0f) : bias ? bias[j] : 0.0f;
  for (int q = 0; q < pieces; ++q) {
    const float* a[MR];
    for (int i = 0; i < MR; ++i) a[i] = rows[i] + off[q];
    for (int64_t p = 0; p < len[q]; ++p, b += NR)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += a[i][p] * b[j];
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] = acc[i][j];
}

}  // namespace

int gemm_kernel_set(const Kernel** list) {
  static const Kernel k{"generic", GMR, GNR, /*mc=*/128, /*kc=*/256, /*nc=*/512, ukernel_generic<false>,
                        ukernel_generic<true>, nullptr, gather_generic<GMR, GNR>};
  *list = &k;
  return 1;
}
#endif

}  // namespace forgenet::FORGENET_ISA_NS

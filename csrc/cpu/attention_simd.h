// The SIMD micro-kernels of the fused attention (the `K` of attention_tiles.h), written once over a
// vector-traits type V and instantiated per ISA by isa/attention_kernels.cpp with V the
// traits of cpu/simd/vec.h (which has these members and more):
//
//   V::T, V::W                     the vector type and its width in floats
//   zero, set1, load, store        (unaligned loads and stores)
//   bcast(const float*)            broadcast one float from memory
//   fma(a, b, c) = a*b + c, fms(a, b, c) = a*b - c, add, sub, mul, max
//   exp2(x)                        2^x to ~2 ulp for x <= 127; 2^-inf = 0, NaN stays NaN
//   hsum, hmax                     horizontal sum and max
//
// The GEMM micro-kernel keeps an MR x NR tile of C in registers (BLIS style) and reads B from a
// packed panel: NR contiguous floats per step of the reduction.
#pragma once

#include "cpu/attention_tiles.h"

namespace forgenet {
namespace {

template <class V, int MR_, int NV, int64_t FWD_BQ, int64_t FWD_BK, int64_t BWD_BQ, int64_t BWD_BK>
struct SimdKernels {
  using T = typename V::T;
  static constexpr int W = V::W, MR = MR_, NR = NV * V::W;
  static constexpr int64_t kFwdBq = FWD_BQ, kFwdBk = FWD_BK, kBq = BWD_BQ, kBk = BWD_BK;

  // What a fused micro-kernel does with its tile x before it leaves registers (one struct for all:
  // each kind reads its own members; rows are indexed from the tile's first row).
  enum Epi { kStore, kBwdExp, kDs };
  struct EpiArgs {
    const float* shift;  // kBwdExp: x -> 2^(a x - shift[i]); kDs: D[i]
    float a;             // kBwdExp
    const float* p;      // kDs: x -> p (x - D[i]), p laid out as c (P, masked)
  };

  // C[MR x NR] (+)= A[MR x kk] @ Bp[kk x NR]; ROWS: A(i, p) = a[i*sa + p], else a[p*sa + i]. E other
  // than kStore (with acc false) maps the tile through an EpiArgs first, so that the scores or dP
  // never make a second trip through the cache.
  // (constant indices into c throughout: any variable index would make GCC keep it in memory)
  template <bool ROWS, Epi E = kStore>
  static void micro(int64_t kk, const float* __restrict a, int64_t sa, const float* __restrict b,
                    float* __restrict c, int64_t ldc, bool acc, const EpiArgs* ep = nullptr) {
    T r[MR][NV];
    if (acc) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) r[i][j] = V::load(c + i * ldc + j * W);
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) r[i][j] = V::zero();
    }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kk; ++p) {
      T bv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const T ai = V::bcast(ROWS ? a + i * sa : a + i);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) r[i][j] = V::fma(ai, bv[j], r[i][j]);
      }
      a += ROWS ? 1 : sa;
      b += NR;
    }
    if (E == kBwdExp) {
      const T va = V::set1(ep->a);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const T sh = V::set1(ep->shift[i]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) V::store(c + i * ldc + j * W, V::exp2(V::fms(va, r[i][j], sh)));
      }
      return;
    }
    if (E == kDs) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const T dl = V::set1(ep->shift[i]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j)
          V::store(c + i * ldc + j * W, V::mul(V::load(ep->p + i * ldc + j * W), V::sub(r[i][j], dl)));
      }
      return;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) V::store(c + i * ldc + j * W, r[i][j]);
  }

  // Asks for the register tile after (i0, j0) in gemm's order, rows of x (ldc floats apart), to be in
  // L1 by the time it starts: a tile that reads its C (accumulating) or kDs's P first would otherwise
  // wait on L2 at every start, those few short rows a stride apart being what the hardware
  // prefetchers miss. (Fetching the next B panel or A rows as well measured slower: they stream.)
  static void fetch_next(const float* x, int64_t ldc, int64_t m, int64_t n, int64_t i0, int64_t j0, int rw) {
    const bool down = i0 + MR < m;
    const int64_t ni = down ? i0 + MR : 0, nj = down ? j0 : j0 + NR;
    if (nj >= n) return;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; j += 16) {  // a 64-byte line at a time
        if (rw)
          __builtin_prefetch(x + (ni + i) * ldc + nj + j, 1, 3);
        else
          __builtin_prefetch(x + (ni + i) * ldc + nj + j, 0, 3);
      }
  }

  // Column panels outer: one B panel stays in L1 while the row blocks of A stream past it.
  template <bool ROWS>
  static void gemm(int64_t m, int64_t n, int64_t kk, const float* A, int64_t sa, const float* Bp, int64_t bs,
                   float* C, int64_t ldc, bool acc) {
    for (int64_t j0 = 0; j0 < n; j0 += NR, Bp += bs)
      for (int64_t i0 = 0; i0 < m; i0 += MR) {
        if (acc) fetch_next(C, ldc, m, n, i0, j0, 1);
        micro<ROWS>(kk, ROWS ? A + i0 * sa : A + i0, sa, Bp, C + i0 * ldc + j0, ldc, acc);
      }
  }

  // gemm<true>(.., acc = false) through micro's epilogue E: ep.shift has a float per row of C; kDs's p
  // is laid out as C.
  template <Epi E>
  static void gemm_epi(int64_t m, int64_t n, int64_t kk, const float* A, int64_t sa, const float* Bp, int64_t bs,
                       float* C, int64_t ldc, const EpiArgs& ep) {
    for (int64_t j0 = 0; j0 < n; j0 += NR, Bp += bs)
      for (int64_t i0 = 0; i0 < m; i0 += MR) {
        if (E == kDs) fetch_next(ep.p, ldc, m, n, i0, j0, 0);
        const EpiArgs at{ep.shift + i0, ep.a, ep.p ? ep.p + i0 * ldc + j0 : nullptr};
        micro<true, E>(kk, A + i0 * sa, sa, Bp, C + i0 * ldc + j0, ldc, false, &at);
      }
  }

  static float row_max(const float* x, int64_t n) {
    T m0 = V::set1(kNegInf), m1 = m0;
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) m0 = V::max(m0, V::load(x + i)), m1 = V::max(m1, V::load(x + i + W));
    if (i < n) m0 = V::max(m0, V::load(x + i));
    return V::hmax(V::max(m0, m1));
  }

  static float exp_sum(float* x, int64_t n, float a, float b) {
    const T va = V::set1(a), vb = V::set1(b);
    T s0 = V::zero(), s1 = s0;
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      const T e0 = V::exp2(V::fms(va, V::load(x + i), vb));
      const T e1 = V::exp2(V::fms(va, V::load(x + i + W), vb));
      V::store(x + i, e0);
      V::store(x + i + W, e1);
      s0 = V::add(s0, e0);
      s1 = V::add(s1, e1);
    }
    if (i < n) {
      const T e = V::exp2(V::fms(va, V::load(x + i), vb));
      V::store(x + i, e);
      s0 = V::add(s0, e);
    }
    return V::hsum(V::add(s0, s1));
  }

  static void scale_row(float* x, int64_t n, float a) {
    const T va = V::set1(a);
    for (int64_t i = 0; i < n; i += W) V::store(x + i, V::mul(va, V::load(x + i)));
  }
};

}  // namespace
}  // namespace forgenet

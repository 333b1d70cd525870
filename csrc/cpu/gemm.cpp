// Packed, cache-blocked SGEMM (BLIS's design): the loops here only move data — op(B) is packed into
// kc x NR column panels, op(A) into MR x kc row panels, so every transpose combination looks the same
// to the micro-kernel (gemm_kernels.h), which holds an MR x NR tile of C in registers.
//
//   jc over N by nc:  pc over K by kc:  pack B block     (kc x nc, stays in L2)
//     ic over M by mc:  pack A block                     (mc x kc)
//       ir over mc by MR:  jr over nc by NR:  micro-kernel   (A panel stays in L1, B panels stream)
//
// Threads each take a slab of C (rows, columns, or a slice of K summed at the end — whichever wastes
// least on edge tiles) and run the serial loops on it with their own pack buffers, so there is no
// synchronisation inside; re-packing B per thread costs O(K*N) against O(M*N*K / threads) of work.
#include "cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/gemm_kernels.h"

namespace forgenet {
namespace gemm {
namespace {

// Plain C++ micro-kernel (4 x 8, what SSE2 registers hold); also the definition the others match.
constexpr int GMR = 4, GNR = 8;

template <bool ROWS>
void ukernel_generic(int64_t k, const float* __restrict a, int64_t sa, const float* __restrict b,
                     float* __restrict c, int64_t ldc, float alpha, float beta, int m, int n) {
  float acc[GMR][GNR] = {};
  for (int64_t p = 0; p < k; ++p, a += ROWS ? 1 : sa, b += GNR)
    for (int i = 0; i < GMR; ++i)
      for (int j = 0; j < GNR; ++j) acc[i][j] += (ROWS ? a[i * sa] : a[i]) * b[j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float& cij = c[i * ldc + j];
      cij = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * cij;
    }
}

// A growable 64-byte-aligned scratch buffer, one per thread and kind (OpenMP threads persist, so
// steady-state calls never allocate).
struct Scratch {
  std::unique_ptr<float, decltype(&std::free)> p{nullptr, &std::free};
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      cap = (n + 15) & ~size_t(15);
      p.reset(static_cast<float*>(std::aligned_alloc(64, cap * sizeof(float))));
    }
    return p.get();
  }
};

// Rows [0, m) of op(A) (block already offset), columns [0, k), into MR-row panels, zero-padded.
void pack_a(int MR, bool trans, int64_t m, int64_t k, const float* A, int64_t lda, float* dst) {
  for (int64_t i0 = 0; i0 < m; i0 += MR, dst += MR * k) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, m - i0));
    if (trans) {  // op(A)(i, p) = A[p, i]: each k step is a contiguous run of mr floats
      for (int64_t p = 0; p < k; ++p) {
        const float* src = A + p * lda + i0;
        float* d = dst + p * MR;
        for (int i = 0; i < mr; ++i) d[i] = src[i];
        for (int i = mr; i < MR; ++i) d[i] = 0.0f;
      }
    } else {  // op(A)(i, p) = A[i, p]: a transpose of mr rows
      for (int i = 0; i < mr; ++i) {
        const float* src = A + (i0 + i) * lda;
        for (int64_t p = 0; p < k; ++p) dst[p * MR + i] = src[p];
      }
      for (int i = mr; i < MR; ++i)
        for (int64_t p = 0; p < k; ++p) dst[p * MR + i] = 0.0f;
    }
  }
}

// Rows [0, k) and columns [0, n) of op(B) into NR-column panels, zero-padded.
void pack_b(int NR, bool trans, int64_t k, int64_t n, const float* B, int64_t ldb, float* dst) {
  for (int64_t j0 = 0; j0 < n; j0 += NR, dst += NR * k) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, n - j0));
    if (!trans) {  // op(B)(p, j) = B[p, j]: each k step is a contiguous run of nr floats
      for (int64_t p = 0; p < k; ++p) {
        const float* src = B + p * ldb + j0;
        float* d = dst + p * NR;
        for (int j = 0; j < nr; ++j) d[j] = src[j];
        for (int j = nr; j < NR; ++j) d[j] = 0.0f;
      }
    } else {  // op(B)(p, j) = B[j, p]: a transpose of nr rows
      for (int j = 0; j < nr; ++j) {
        const float* src = B + (j0 + j) * ldb;
        for (int64_t p = 0; p < k; ++p) dst[p * NR + j] = src[p];
      }
      for (int j = nr; j < NR; ++j)
        for (int64_t p = 0; p < k; ++p) dst[p * NR + j] = 0.0f;
    }
  }
}

// Single-threaded blocked GEMM on one slab; A, B, C already offset to the slab's origin.
void gemm_serial(const Kernel& kr, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc) {
  static thread_local Scratch abuf, bbuf;
  const int MR = kr.mr, NR = kr.nr;
  static const int64_t dkc = std::getenv("FG_KC") ? std::atoi(std::getenv("FG_KC")) : 0;
  static const int64_t dnc = std::getenv("FG_NC") ? std::atoi(std::getenv("FG_NC")) : 0;
  static const int64_t dmc = std::getenv("FG_MC") ? std::atoi(std::getenv("FG_MC")) : 0;
  const int64_t KC = std::min(dkc ? dkc : kr.kc, K);
  const int64_t NC = std::min(dnc ? dnc : kr.nc, (N + NR - 1) / NR * NR);
  const int64_t MC = std::min(dmc ? dmc : kr.mc, (M + MR - 1) / MR * MR);
  // When C is narrow each A panel meets only a tile or two of B, so packing A would cost about as
  // much as using it: read full panels of A in place instead (unless rows 4 KiB apart would all
  // land in one L1 set).
  static const bool dbg_noinplace = std::getenv("FG_NOINPLACE") != nullptr;
  const bool in_place = !dbg_noinplace && N <= 2 * NR && lda % 1024 != 0;
  float* ap = abuf.get(MC * KC);
  float* bp = bbuf.get(KC * NC);
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const float beta_k = pc == 0 ? beta : 1.0f;  // later K blocks accumulate onto the first
      pack_b(NR, tb, kc, nc, tb ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, bp);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        if (!in_place) pack_a(MR, ta, mc, kc, ta ? A + pc * lda + ic : A + ic * lda + pc, lda, ap);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
          const int64_t i = ic + ir;
          const float* a = ap + ir * kc;
          int64_t sa = MR;
          MicroKernel run = kr.run;
          if (in_place && m == MR) {
            a = ta ? A + pc * lda + i : A + i * lda + pc;
            sa = lda;
            if (!ta) run = kr.run_rows;
          } else if (in_place) {
            pack_a(MR, ta, m, kc, ta ? A + pc * lda + i : A + i * lda + pc, lda, ap);
            a = ap;
          }
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int n = static_cast<int>(std::min<int64_t>(NR, nc - jr));
            run(kc, a, sa, bp + jr * kc, C + i * ldc + jc + jr, ldc, alpha, beta_k, m, n);
          }
        }
      }
    }
  }
}

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

inline int64_t ceil_to(int64_t x, int64_t q) { return (x + q - 1) / q * q; }
inline int64_t ceil_div(int64_t x, int64_t q) { return (x + q - 1) / q; }

}  // namespace

const Kernel& kernel_generic() {
  static const Kernel k{"generic", GMR, GNR, /*mc=*/128, /*kc=*/256, /*nc=*/512, ukernel_generic<false>,
                        ukernel_generic<true>};
  return k;
}

const Kernel& kernel_for(Isa isa, int64_t n) {
#if defined(FORGENET_X86)
  if (isa == Isa::avx512) return kernel_avx512(n);
  if (isa == Isa::avx2) return kernel_avx2(n);
#endif
  return kernel_generic();
}

}  // namespace gemm

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  using namespace gemm;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return scale_c(M, N, beta, C, ldc);
  const Kernel& kr = kernel_for(best_isa(), N);
  const int64_t MR = kr.mr, NR = kr.nr;

  // Below ~0.1 MFLOP a fork/join costs more than it saves.
  int T = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (static_cast<double>(M) * N * K < 5e4) T = 1;
  if (T == 1) return gemm_serial(kr, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);

  // Split one dimension T ways; cost = padded multiply-adds of the busiest thread (+ the reduction
  // for a K split). Rows win ties: they keep each thread's C rows and A reads contiguous.
  const double pm = ceil_to(M, MR), pn = ceil_to(N, NR);
  const double cost_m = ceil_div(ceil_div(M, MR), T) * MR * pn * K;
  const double cost_n = pm * ceil_div(ceil_div(N, NR), T) * NR * K;
  const double cost_k = pm * pn * ceil_div(K, T) + 4.0 * M * N;
  enum { kRows, kCols, kDepth } split = kRows;
  if (cost_n < cost_m && cost_n <= cost_k) split = kCols;
  else if (cost_k < cost_m && cost_k < cost_n && K >= 2 * T) split = kDepth;

  std::vector<float> partial(split == kDepth ? (T - 1) * M * N : 0);
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    if (split == kRows) {
      const int64_t per = ceil_div(ceil_div(M, MR), nt) * MR, i0 = std::min(M, t * per);
      const int64_t m = std::min(per, M - i0);
      if (m > 0)
        gemm_serial(kr, trans_a, trans_b, m, N, K, alpha, trans_a ? A + i0 : A + i0 * lda, lda, B, ldb,
                    beta, C + i0 * ldc, ldc);
    } else if (split == kCols) {
      const int64_t per = ceil_div(ceil_div(N, NR), nt) * NR, j0 = std::min(N, t * per);
      const int64_t n = std::min(per, N - j0);
      if (n > 0)
        gemm_serial(kr, trans_a, trans_b, M, n, K, alpha, A, lda, trans_b ? B + j0 * ldb : B + j0, ldb,
                    beta, C + j0, ldc);
    } else {
      // Thread 0 writes alpha*A0B0 + beta*C into C; the others write their slice of K into private
      // M x N buffers, summed into C once all are done.
      const int64_t kchunk = ceil_div(K, nt), p0 = std::min(K, t * kchunk), k = std::min(kchunk, K - p0);
      const float* a = trans_a ? A + p0 * lda : A + p0;
      const float* b = trans_b ? B + p0 : B + p0 * ldb;
      if (t == 0) {
        gemm_serial(kr, trans_a, trans_b, M, N, k, alpha, a, lda, b, ldb, beta, C, ldc);
      } else {
        float* part = partial.data() + (t - 1) * M * N;
        if (k > 0) gemm_serial(kr, trans_a, trans_b, M, N, k, alpha, a, lda, b, ldb, 0.0f, part, N);
        else std::fill(part, part + M * N, 0.0f);
      }
#pragma omp barrier
#pragma omp for schedule(static)
      for (int64_t i = 0; i < M; ++i)
        for (int u = 1; u < nt; ++u) {
          const float* src = partial.data() + (u - 1) * M * N + i * N;
          float* dst = C + i * ldc;
          for (int64_t j = 0; j < N; ++j) dst[j] += src[j];
        }
    }
  }
}

}  // namespace forgenet

// Packed, cache-blocked SGEMM (BLIS's design): the loops here only move data — op(B) is packed into
// kc x NR column panels, op(A) into MR x kc row panels, so every transpose combination looks the same
// to the micro-kernel (gemm_kernels.h), which holds an MR x NR tile of C in registers.
//
//   jc over N by nc:  pc over K by kc:  pack B block     (kc x nc)
//     ic over M by mc:  pack A block                     (mc x kc, stays in L2)
//       jr over nc by NR:  ir over mc by MR:  micro-kernel   (B panel stays in L1, A panels stream)
//
// A row-major op(A) is not packed at all: the micro-kernel broadcasts it element by element, so packing
// it would be a transpose bought for nothing. op(B) comes one of four ways (BSource, b_source()): B
// itself when one row of tiles meets each panel once; one panel packed just before its use when C has
// at most a block (mc) of rows, so that each panel is copied once into L1 and used there by every
// tile (a full panel of a row-major B is copied by the first tile as it reads B, the others read the
// copy: no pass of its own); the BLIS block beyond; a PackedB as it is.
//
// Threads each take a slab of C (rows, columns, or a slice of K summed at the end — whichever a small
// cost model prefers; few rows split the columns, so that each thread reads only its part of B) and
// run the serial loops on it with their own pack buffers (per-thread GrowBuffers), so there is
// no synchronisation inside; re-packing B per thread costs O(K*N) against O(M*N*K / threads) of work.
// The slabs are parallel_for's chunks, one per thread — except for a row split whose slabs would each
// pack blocks of a large B (BSource::shared): there each kc x nc block of op(B) is packed once, the
// threads each packing some of its panels, and the rows are cut into a few chunks per thread that the
// threads claim as they come free (parallel_run), all reading that one block. A thread that starts
// late or is descheduled then costs its share of the chunks, not half the call, and B is packed once,
// not once per thread. A PackedB's row split claims chunks the same way.
//
// A PackedB (sgemm_pack_b) holds op(B) already in the panels gemm_serial would pack, K block by K block
// (the kernel's kc over the whole K), so a row or column slab reads them in place and nothing is
// packed per call; a K split is not offered for it (its K blocks are fixed at pack time).
#include "cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/dispatch.h"
#include "cpu/gemm_kernels.h"
#include "cpu/parallel.h"
#include "common/workspace.h"

namespace forgenet {
namespace gemm {
namespace {

inline int64_t ceil_to(int64_t x, int64_t q) { return (x + q - 1) / q * q; }
inline int64_t ceil_div(int64_t x, int64_t q) { return (x + q - 1) / q; }

// Packing, with the panel width a compile-time constant so the copies vectorise and unroll.
// Rows [0, m) of op(A) (block already offset), columns [0, k), into MR-row panels, zero-padded.
template <int MR>
void pack_a_t(bool trans, int64_t m, int64_t k, const float* A, int64_t lda, float* dst, Transpose8 t8) {
  for (int64_t i0 = 0; i0 < m; i0 += MR, dst += MR * k) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, m - i0));
    if (trans) {  // op(A)(i, p) = A[p, i]: each k step is a contiguous run of mr floats
      for (int64_t p = 0; p < k; ++p) {
        const float* src = A + p * lda + i0;
        float* d = dst + p * MR;
        if (mr == MR) {
          for (int i = 0; i < MR; ++i) d[i] = src[i];
        } else {
          for (int i = 0; i < MR; ++i) d[i] = i < mr ? src[i] : 0.0f;
        }
      }
    } else if (t8 && (MR % 8 == 0 || MR < 8) && mr == MR) {  // op(A)(i, p) = A[i, p]: a transpose of mr rows
      for (int g = 0; g < MR; g += 8) t8(MR < 8 ? MR : 8, k, A + (i0 + g) * lda, lda, dst + g, MR);
    } else {
      const float* rows[MR];
      for (int i = 0; i < MR; ++i) rows[i] = A + (i0 + std::min(i, mr - 1)) * lda;
      for (int64_t p = 0; p < k; ++p)
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = rows[i][p];
      for (int64_t p = 0; p < k && mr < MR; ++p)
        for (int i = mr; i < MR; ++i) dst[p * MR + i] = 0.0f;
    }
  }
}

// Rows [0, k) and columns [0, n) of op(B) into NR-column panels, zero-padded.
template <int NR>
void pack_b_t(bool trans, int64_t k, int64_t n, const float* B, int64_t ldb, float* dst, Transpose8 t8) {
  for (int64_t j0 = 0; j0 < n; j0 += NR, dst += NR * k) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, n - j0));
    if (!trans) {  // op(B)(p, j) = B[p, j]: each k step is a contiguous run of nr floats
      // (a fixed-size memcpy: GCC turns the plain loop into scalar moves, a third of a skinny GEMM)
      // (rows ldb apart, often a page or more: past the hardware prefetcher's reach, hence the hint)
      if (nr == NR) {
        for (int64_t p = 0; p < k; ++p) {
          __builtin_prefetch(B + (p + 8) * ldb + j0);
          std::memcpy(dst + p * NR, B + p * ldb + j0, NR * sizeof(float));
        }
      } else {
        for (int64_t p = 0; p < k; ++p) {
          const float* src = B + p * ldb + j0;
          float* d = dst + p * NR;
          for (int j = 0; j < NR; ++j) d[j] = j < nr ? src[j] : 0.0f;
        }
      }
    } else if (t8 && NR % 8 == 0 && nr == NR) {  // op(B)(p, j) = B[j, p]: a transpose of nr rows
      for (int g = 0; g < NR; g += 8) t8(8, k, B + (j0 + g) * ldb, ldb, dst + g, NR);
    } else {
      const float* rows[NR];
      for (int j = 0; j < NR; ++j) rows[j] = B + (j0 + std::min(j, nr - 1)) * ldb;
      for (int64_t p = 0; p < k; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = rows[j][p];
      for (int64_t p = 0; p < k && nr < NR; ++p)
        for (int j = nr; j < NR; ++j) dst[p * NR + j] = 0.0f;
    }
  }
}

}  // namespace

void pack_b(const Kernel& kr, bool trans, int64_t k, int64_t n, const float* B, int64_t ldb, float* dst) {
  switch (kr.nr) {
    case 8: return pack_b_t<8>(trans, k, n, B, ldb, dst, kr.transpose8);
    case 16: return pack_b_t<16>(trans, k, n, B, ldb, dst, kr.transpose8);
    case 24: return pack_b_t<24>(trans, k, n, B, ldb, dst, kr.transpose8);
    case 32: return pack_b_t<32>(trans, k, n, B, ldb, dst, kr.transpose8);
  }
  std::abort();
}

namespace {

void pack_a(const Kernel& kr, bool trans, int64_t m, int64_t k, const float* A, int64_t lda, float* dst) {
  switch (kr.mr) {
    case 4: return pack_a_t<4>(trans, m, k, A, lda, dst, kr.transpose8);
    case 6: return pack_a_t<6>(trans, m, k, A, lda, dst, kr.transpose8);
    case 8: return pack_a_t<8>(trans, m, k, A, lda, dst, kr.transpose8);
    case 12: return pack_a_t<12>(trans, m, k, A, lda, dst, kr.transpose8);
    case 16: return pack_a_t<16>(trans, m, k, A, lda, dst, kr.transpose8);
  }
  std::abort();  // a micro-kernel with a tile height not listed here
}

// A PackedB seen from a slab starting at column j0 of it (K blocks of kc rows, npad columns each).
struct PackedView {
  const float* data;
  int64_t npad, j0;
  const float* panel(int64_t pc, int64_t kc, int64_t j) const { return data + pc * npad + (j0 + j) * kc; }
};

}  // namespace

BSource b_source(const Kernel& kr, bool tb, int64_t M, bool packed) {
  if (packed) return BSource::packed;
  // One row of tiles meets each B panel once: any copy of it is pure cost.
  if (!tb && M <= kr.mr) return BSource::in_place;
  // Within one block of A rows each B panel is used by every tile of the block and then never again, so
  // it is packed just before that use into a kc x NR buffer that stays in L1 (read in place, rows a
  // power of two apart fall into a few L1 sets and stream from L2 once per tile; a whole packed block
  // is written to L2 and read back).
  if (M <= kr.mc) return BSource::sliver;
  return BSource::block;
}

namespace {

// Single-threaded blocked GEMM on one slab; A, B, C already offset to the slab's origin. With `packed`
// B is not read: its panels come from there (packed with this kernel's kc over the same K).
void gemm_serial(const Kernel& kr, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc, const PackedView* packed = nullptr) {
  const int MR = kr.mr, NR = kr.nr;
  const int64_t KC = std::min(kr.kc, K);
  const int64_t NC = std::min(kr.nc, ceil_to(N, NR));
  const int64_t MC = std::min(kr.mc, ceil_to(M, MR));
  // A row-major op(A) is read in place: the micro-kernel broadcasts its elements one at a time either
  // way, and packing it would be a transpose of MR rows costing about as much as a narrow C's use of
  // it (unless rows 4 KiB apart would all land in one L1 set).
  const bool in_place = !ta && lda % 1024 != 0;
  const BSource src = b_source(kr, tb, M, packed != nullptr);
  // block: a kc x nc block of panels; sliver: one panel; in place: only the partial last panel.
  const int64_t bfloats = src == BSource::block ? KC * NC : src == BSource::packed ? 0 : KC * NR;
  // Per-thread buffers of their own, not frames of the Scratch arena: with the A block and the B block
  // adjacent in one arena frame, 1024^3 on one thread ran 5-10% slower (measured on Zen 3, cause not
  // found); OpenMP threads persist, so steady-state calls allocate nothing either way.
  static thread_local GrowBuffer abuf_, bbuf_;
  float* ap = abuf_.get(MC * KC, "gemm's packed A panel");
  float* const bbuf = bfloats ? bbuf_.get(bfloats, "gemm's packed B panel") : nullptr;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const float beta_k = pc == 0 ? beta : 1.0f;  // later K blocks accumulate onto the first
      auto b_at = [&](int64_t j) { return tb ? B + (jc + j) * ldb + pc : B + pc * ldb + jc + j; };
      const int64_t nfull = src == BSource::in_place ? nc / NR * NR : 0;  // panels read in place
      const float* bp = bbuf;
      if (src == BSource::packed) bp = packed->panel(pc, kc, jc);
      else if (src == BSource::block) pack_b(kr, tb, kc, nc, b_at(0), ldb, bbuf);
      else if (src == BSource::in_place && nfull < nc) pack_b(kr, tb, kc, nc - nfull, b_at(nfull), ldb, bbuf);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        // A read in place (row-major, full tiles only); the one partial tile at the bottom is packed.
        const int64_t full = in_place ? mc / MR * MR : 0;
        if (!in_place) pack_a(kr, ta, mc, kc, ta ? A + pc * lda + ic : A + ic * lda + pc, lda, ap);
        else if (full < mc) pack_a(kr, ta, mc - full, kc, A + (ic + full) * lda + pc, lda, ap + full * kc);
        // BLIS's order: one B micro-panel (kc x NR) stays in L1 while the A block (L2) streams.
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int n = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          const float* b;
          int64_t sb = NR;
          // a sliver's full panel of row-major B is packed by its first (full) tile as it reads it
          bool packing = src == BSource::sliver && !tb && n == NR && mc >= MR && kr.run_packing_b;
          if (jr < nfull) b = b_at(jr), sb = ldb;
          else if (packing) b = b_at(jr), sb = ldb;
          else if (src == BSource::in_place) b = bbuf;
          else if (src == BSource::sliver) pack_b(kr, tb, kc, n, b_at(jr), ldb, bbuf), b = bbuf;
          else b = bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            float* c = C + (ic + ir) * ldc + jc + jr;
            if (packing) {
              if (ir < full)
                kr.run_rows_packing_b(kc, A + (ic + ir) * lda + pc, lda, b, sb, c, ldc, alpha, beta_k, bbuf);
              else
                kr.run_packing_b(kc, ap + ir * kc, MR, b, sb, c, ldc, alpha, beta_k, bbuf);
              b = bbuf, sb = NR, packing = false;
            } else if (ir < full)
              kr.run_rows(kc, A + (ic + ir) * lda + pc, lda, b, sb, c, ldc, alpha, beta_k, m, n);
            else
              kr.run(kc, ap + ir * kc, MR, b, sb, c, ldc, alpha, beta_k, m, n);
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

}  // namespace

const Kernel& kernel_for(Isa isa, int64_t m, int64_t n) {
  const Kernel* list = nullptr;
  const int count = FORGENET_ISA_CALL_FOR(isa, gemm_kernel_set, &list);
  const Kernel* best = list;
  const double padded = double(ceil_to(m, best->mr)) * ceil_to(n, best->nr);
  double best_padded = padded;
  for (int i = 1; i < count; ++i) {
    const double p = double(ceil_to(m, list[i].mr)) * ceil_to(n, list[i].nr);
    if (p < 0.93 * padded && p < (best == list ? 1.0 : 0.96) * best_padded) best = &list[i], best_padded = p;
  }
  return *best;
}

}  // namespace gemm

namespace gemm {
namespace {

// Multiply-adds a slab must have for another thread to pay: waking a team costs some microseconds
// (more on a busy machine), ~0.25 MFLOP of one core's work. GEMM's work is its multiply-adds rather
// than the floats it touches, so its grain is its own; the chunking is parallel_for's.
constexpr int64_t kSlabMacs = 131072;

// Row chunks per thread of a claimed row split: enough that a late thread's share is small, few enough
// that each chunk's rows still reuse every B panel many times (and at least kMinChunkTiles row tiles).
constexpr int64_t kChunksPerThread = 4, kMinChunkTiles = 8;

// The floats of op(B) beyond which a row split shares its packing (4 MiB). Below, each thread packs its
// own copy: measured on Zen 3 at 2 threads, 1280x512x64 ran ~20% slower (median) with one shared copy
// (the other core then reads every panel from the first one's cache; its own copy of a small B is
// about as cheap to make), while 2048^3 ran a few % faster.
constexpr int64_t kSharedBFloats = int64_t(1) << 20;

// Rows of C per claimed chunk for T threads (a multiple of MR).
int64_t chunk_rows(const Kernel& kr, int64_t M, int T) {
  const int64_t tiles = ceil_div(M, kr.mr), per_thread = ceil_div(tiles, T);
  return std::min(per_thread, std::max(ceil_div(tiles, kChunksPerThread * T), kMinChunkTiles)) * kr.mr;
}

}  // namespace

Plan plan(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, bool packed, const Kernel* kernel) {
  const Kernel& kr = kernel ? *kernel : kernel_for(best_isa(), M, N);
  const int64_t MR = kr.mr, NR = kr.nr;
  Plan p{&kr, parallel_chunks(mul_sat(mul_sat(M, N), K), kSlabMacs), Plan::rows, BSource::block};
  const int T = p.threads;
  const int64_t rows = ceil_div(ceil_div(M, MR), T) * MR, cols = ceil_div(ceil_div(N, NR), T) * NR;
  if (T > 1) {
    // Split one dimension T ways. Cost of the busiest thread, in multiply-adds: its padded tiles, plus
    // ~8 per element it packs (each thread packs the part of the operands its slab reads), plus ~16 per
    // element of C for the reduction a K split needs. Rows win ties: contiguous C rows per thread.
    const double pm = ceil_to(M, MR), pn = ceil_to(N, NR), depth = ceil_div(K, T);
    // A costs as much read in place as packed: each thread streams all of its slab's A from L3 or memory
    const double pack_a = 8.0;
    auto pack_b = [&](int64_t m) {
      const BSource b = b_source(kr, trans_b, m, packed);
      return b == BSource::block || b == BSource::sliver ? 8.0 : 0.0;
    };
    // (a row split whose slabs would pack B blocks packs one copy of it, each thread a T-th)
    const bool shared = !packed && b_source(kr, trans_b, std::min(rows, M), packed) == BSource::block &&
                        mul_sat(K, ceil_to(N, NR)) > kSharedBFloats;
    const double cost_m = rows * pn * K + pack_a * K * rows + pack_b(rows) * K * pn / (shared ? T : 1);
    const double cost_n = pm * cols * K + pack_a * K * pm + pack_b(M) * K * cols;
    // (a pre-packed B's K blocks are fixed: it cannot be split by K)
    const double cost_k = packed ? 1e300 : pm * pn * depth + depth * (pack_a * pm + pack_b(M) * pn) + 16.0 * M * N;
    if (cost_n < cost_m && cost_n <= cost_k) p.split = Plan::cols;
    else if (cost_k < cost_m && cost_k < cost_n) p.split = Plan::depth;
  }
  p.b = b_source(kr, trans_b, p.split == Plan::rows ? std::min(rows, M) : M, packed);
  if (T > 1 && p.split == Plan::rows && p.b == BSource::block && mul_sat(K, ceil_to(N, NR)) > kSharedBFloats)
    p.b = BSource::shared;
  return p;
}

namespace {

// A row split over T threads claiming chunks of rows: each kc x nc block of op(B) is packed once (the
// threads packing its panels between them), then every chunk of rows runs the serial loops on it; a
// PackedB's chunks read all its blocks in one go. Every element is computed as gemm_serial computes it.
void claimed_rows(const Kernel& kr, int T, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc, const PackedView* packed) {
  const int64_t NR = kr.nr, KC = std::min(kr.kc, K), NC = std::min(kr.nc, ceil_to(N, NR));
  const int64_t rows = chunk_rows(kr, M, T);
  const int chunks = static_cast<int>(ceil_div(M, rows));
  auto a_at = [&](int64_t i, int64_t p) { return trans_a ? A + p * lda + i : A + i * lda + p; };
  if (packed) {
    parallel_run(chunks, T, [&](int q) {
      const int64_t i0 = q * rows;
      gemm_serial(kr, trans_a, false, std::min(rows, M - i0), N, K, alpha, a_at(i0, 0), lda, nullptr, 0, beta,
                  C + i0 * ldc, ldc, packed);
    });
    return;
  }
  // the calling thread's: the chunks reading it all end before parallel_run returns
  static thread_local GrowBuffer shared_;
  float* const bp = shared_.get(KC * NC, "gemm's shared packed B block");
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      parallel_for(0, ceil_div(nc, NR), grain_for(kc * NR), [&](int64_t p0, int64_t p1) {
        const int64_t j0 = p0 * NR, j1 = std::min(nc, p1 * NR);
        pack_b(kr, trans_b, kc, j1 - j0, trans_b ? B + (jc + j0) * ldb + pc : B + pc * ldb + jc + j0, ldb,
               bp + j0 * kc);
      });
      const PackedView view{bp, ceil_to(nc, NR), 0};
      parallel_run(chunks, T, [&](int q) {
        const int64_t i0 = q * rows;
        gemm_serial(kr, trans_a, false, std::min(rows, M - i0), nc, kc, alpha, a_at(i0, pc), lda, nullptr, 0,
                    pc == 0 ? beta : 1.0f, C + i0 * ldc + jc, ldc, &view);
      });
    }
  }
}

// sgemm's threads over one kernel; with `packed` (a whole PackedB, column 0) B is not read.
void drive(const Kernel& kr, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
           const PackedView* packed) {
  const Plan p = plan(trans_a, trans_b, M, N, K, packed != nullptr, &kr);
  if (p.threads == 1) return gemm_serial(kr, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, packed);
  const int T = p.threads;
  const int64_t MR = kr.mr, NR = kr.nr;
  if (p.split == Plan::rows && (p.b == BSource::shared || p.b == BSource::packed))
    return claimed_rows(kr, T, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, packed);

  std::vector<float> partial = workspace_vector<float>(
      p.split == Plan::depth ? mul_sat(T - 1, mul_sat(M, N)) : 0, "gemm's split-K partial sums");
  // Thread t of T computes its slab. For a K split, thread 0 writes alpha*A0B0 + beta*C into C and
  // the others their slice of K into private M x N buffers, summed into C once all are done.
  parallel_for_chunks(0, T, 1, [&](int t, int64_t, int64_t) {
    if (p.split == Plan::rows) {
      const int64_t per = ceil_div(ceil_div(M, MR), T) * MR, i0 = std::min(M, t * per);
      const int64_t m = std::min(per, M - i0);
      if (m > 0)
        gemm_serial(kr, trans_a, trans_b, m, N, K, alpha, trans_a ? A + i0 : A + i0 * lda, lda, B, ldb,
                    beta, C + i0 * ldc, ldc, packed);
    } else if (p.split == Plan::cols) {
      const int64_t per = ceil_div(ceil_div(N, NR), T) * NR, j0 = std::min(N, t * per);
      const int64_t n = std::min(per, N - j0);
      const PackedView shifted = packed ? PackedView{packed->data, packed->npad, j0} : PackedView{};
      if (n > 0)
        gemm_serial(kr, trans_a, trans_b, M, n, K, alpha, A, lda, packed ? B : trans_b ? B + j0 * ldb : B + j0,
                    ldb, beta, C + j0, ldc, packed ? &shifted : nullptr);
    } else {
      const int64_t kchunk = ceil_div(K, T), p0 = std::min(K, t * kchunk), k = std::min(kchunk, K - p0);
      const float* a = trans_a ? A + p0 * lda : A + p0;
      const float* b = trans_b ? B + p0 : B + p0 * ldb;
      float* part = t == 0 ? C : partial.data() + (t - 1) * M * N;
      if (k > 0) gemm_serial(kr, trans_a, trans_b, M, N, k, alpha, a, lda, b, ldb, t == 0 ? beta : 0.0f, part,
                             t == 0 ? ldc : N);
      else if (t > 0) std::fill(part, part + M * N, 0.0f);
    }
  });
  if (p.split != Plan::depth) return;
  parallel_for(0, M, grain_for(N * T), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int u = 1; u < T; ++u) {
        const float* src = partial.data() + (u - 1) * M * N + i * N;
        float* dst = C + i * ldc;
        for (int64_t j = 0; j < N; ++j) dst[j] += src[j];
      }
  });
}

}  // namespace
}  // namespace gemm

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return gemm::scale_c(M, N, beta, C, ldc);
  const gemm::Kernel& kr = gemm::kernel_for(best_isa(), M, N);
  gemm::drive(kr, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr);
}

PackedB sgemm_pack_b(Isa isa, bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb, int64_t m_hint) {
  PackedB p;
  p.isa = isa;
  p.kernel = &gemm::kernel_for(p.isa, std::max<int64_t>(m_hint, 1), std::max<int64_t>(N, 1));
  p.k = K, p.n = N, p.trans = trans_b;
  const int64_t NR = p.kernel->nr, KC = std::min(p.kernel->kc, std::max<int64_t>(K, 1));
  const int64_t npad = (N + NR - 1) / NR * NR;
  p.data = AlignedBuffer(mul_sat(K, npad), "gemm_pack_b's panels", /*zero=*/false);
  // the layout gemm_serial reads through PackedView: K block pc holds kc x npad floats from pc * npad
  parallel_for(0, (K + KC - 1) / KC, grain_for(mul_sat(KC, npad)), [&](int64_t q0, int64_t q1) {
    for (int64_t pc = q0 * KC; pc < std::min(K, q1 * KC); pc += KC)
      gemm::pack_b(*p.kernel, trans_b, std::min(KC, K - pc), N, trans_b ? B + pc : B + pc * ldb, ldb,
                   p.data.p + pc * npad);
  });
  return p;
}

void sgemm_packed(bool trans_a, int64_t M, float alpha, const float* A, int64_t lda, const PackedB& B,
                  float beta, float* C, int64_t ldc) {
  if (M <= 0 || B.n <= 0) return;
  if (B.k <= 0) return gemm::scale_c(M, B.n, beta, C, ldc);
  if (B.isa != best_isa()) throw std::logic_error("sgemm_packed: B was packed for another instruction set");
  const int64_t NR = B.kernel->nr;
  const gemm::PackedView view{B.data.p, (B.n + NR - 1) / NR * NR, 0};
  gemm::drive(*B.kernel, trans_a, false, M, B.n, B.k, alpha, A, lda, nullptr, 0, beta, C, ldc, &view);
}

}  // namespace forgenet

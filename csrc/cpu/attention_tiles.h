// The tile loops of the fused attention forward and backward, written once and instantiated by each
// ISA file (attention.cpp, attention_avx2.cpp, attention_avx512.cpp) with its own micro-kernels `K`:
//
//   K::W                       floats per vector; every tile row is padded to a multiple of W
//   K::gemm<TA>(m, n, kk, A, lda, B, ldb, C, ldc, acc)
//                              C[m x n] (+)= op(A)[m x kk] @ B[kk x n], n a multiple of W;
//                              op(A)(i, p) = TA ? A[p*lda + i] : A[i*lda + p]
//   K::row_max(x, n)           max of x[0..n)
//   K::exp_sum(x, n, a, b)     x = exp(a*x - b) in place, returns the sum (exp(-inf) is exactly 0)
//   K::ds_row(dp, p, n, D, s)  dp = s * p * (dp - D)
//   K::scale_row(x, n, a)      x *= a
//
// Everything here has internal linkage: each ISA file gets its own copy compiled with its own flags,
// and the linker never swaps an AVX-512 copy into the generic path.
#pragma once

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/attention.h"

namespace forgenet {
namespace {

// Tile sizes: query rows x keys. The forward's per-row softmax bookkeeping is paid once per tile,
// so it takes wider key tiles.
constexpr int64_t kFwdBq = 64, kFwdBk = 256;
constexpr int64_t kBq = 64, kBk = 64;

inline int64_t lo(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }
constexpr float kNegInf = -__builtin_inff();

// Scratch, 64-byte aligned, zero-filled unless the caller writes every element before reading it
// (padding columns must read as 0, never garbage). Allocated by attention_alloc (attention.cpp,
// compiled once), which throws OutOfMemory with the size: always before a parallel region, never in
// one, where an exception would terminate the process.
struct Scratch {
  float* p = nullptr;
  explicit Scratch(int64_t n, bool zero = true, const char* what = "attention's scratch")
      : p(attention_alloc(n, zero, what)) {}
  ~Scratch() { attention_free(p); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// Per-thread buffers carved out of one Scratch allocated before the parallel region: part i of
// thread t starts at t * stride + offset[i]. Sizes are rounded to 16 floats (64 bytes).
template <int N>
struct ThreadSlabs {
  int64_t offset[N] = {}, stride = 0;
  explicit ThreadSlabs(const int64_t (&sizes)[N]) {
    for (int i = 0; i < N; ++i) {
      offset[i] = stride;
      stride = attention_size_add(stride, round_up(sizes[i] > 0 ? sizes[i] : 1, 16));
    }
  }
};
struct View {
  float* p;
};

// dst (cols x ldd) = src rows [0, rows) (row stride `cols`) transposed, scaled; columns >= rows are 0.
inline void pack_transposed(const float* src, int64_t rows, int64_t cols, float* dst, int64_t ldd) {
  for (int64_t c = 0; c < cols; ++c) {
    float* d = dst + c * ldd;
    for (int64_t r = 0; r < rows; ++r) d[r] = src[r * cols + c];
    for (int64_t r = rows; r < ldd; ++r) d[r] = 0.0f;
  }
}

// dst (rows x ldd) = src (rows x cols) * scale with zero padding columns.
inline void pack_rows(const float* src, int64_t rows, int64_t cols, float* dst, int64_t ldd,
                      float scale = 1.0f) {
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dst + r * ldd;
    const float* s = src + r * cols;
    for (int64_t c = 0; c < cols; ++c) d[c] = s[c] * scale;
    for (int64_t c = cols; c < ldd; ++c) d[c] = 0.0f;
  }
}

// Sets the scores a row may not see to `fill`: keys past the tile's end (padding) and, when causal,
// keys after the query. Row r of the tile is query q0 + r; column c is key k0 + c.
inline void mask_tile(float* s, int64_t lds, int64_t rows, int64_t q0, int64_t k0, int64_t nvalid,
                      int64_t ncols, bool causal, float fill) {
  for (int64_t r = 0; r < rows; ++r) {
    int64_t first = nvalid;
    if (causal) first = lo(first, q0 + r - k0 + 1 > 0 ? q0 + r - k0 + 1 : 0);
    for (int64_t c = first; c < ncols; ++c) s[r * lds + c] = fill;
  }
}

// Per-tile pack state for sharing packed tiles without a barrier: 0 free, 1 being packed, 2 ready.
struct TileStates {
  int* st = nullptr;
  explicit TileStates(int64_t n) {
    st = attention_alloc_states(n);
  }
  ~TileStates() { attention_free(st); }
  TileStates(const TileStates&) = delete;
  TileStates& operator=(const TileStates&) = delete;
  // Where to pack tile t: `shared` if this thread won it, `own` if another thread is packing it now,
  // null if it is ready in `shared`.
  float* claim(int64_t t, float* shared, float* own) {
    int s = __atomic_load_n(st + t, __ATOMIC_ACQUIRE);
    if (s == 2) return nullptr;
    int expect = 0;
    if (s == 0 && __atomic_compare_exchange_n(st + t, &expect, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return shared;
    return __atomic_load_n(st + t, __ATOMIC_ACQUIRE) == 2 ? nullptr : own;
  }
  void publish(int64_t t) { __atomic_store_n(st + t, 2, __ATOMIC_RELEASE); }
};

template <class K>
void forward_tiles(const AttnShape& sh, const float* q, const float* k, const float* v, float* o,
                   float* lse) {
  constexpr int64_t W = K::W, Bq = kFwdBq, Bk = kFwdBk;
  const int64_t d = sh.d, dv = sh.dv, nq = sh.nq, nk = sh.nk;
  const int64_t dvp = round_up(dv, W), bkp = round_up(Bk, W);
  const int64_t nqb = (nq + Bq - 1) / Bq;
  const int64_t units = sh.bh * nqb;

  // K^T tiles (d x bkp) are packed once and shared by every query block: a copy of K, O(N d). The
  // first thread to need a tile packs it; one that finds it being packed packs its own private copy
  // rather than wait, so there is no barrier (a barrier costs a scheduler tick on a busy machine).
  const int64_t nkb = (nk + Bk - 1) / Bk, tile = d * bkp;
  Scratch kt_all(attention_size_mul(attention_size_mul(sh.bh, nkb), tile), /*zero=*/false,
                 "attention's packed K tiles");  // each tile is written whole when packed
  TileStates packed(sh.bh * nkb);
  const bool v_direct = dv == dvp;  // V rows can feed the GEMM unpadded
  const int team = units > 1 ? omp_get_max_threads() : 1;
  const ThreadSlabs<6> slab({Bq * d, v_direct ? 0 : Bk * dvp, Bq * bkp, Bq * dvp, 2 * Bq, tile});
  Scratch per_thread(attention_size_mul(team, slab.stride), true, "attention's per-thread tiles");

#pragma omp parallel num_threads(team) if (units > 1)
  {
    float* const mine = per_thread.p + omp_get_thread_num() * slab.stride;
    const View qs{mine + slab.offset[0]}, vp{mine + slab.offset[1]}, s{mine + slab.offset[2]},
        oacc{mine + slab.offset[3]}, ml{mine + slab.offset[4]}, own{mine + slab.offset[5]};
    float* m = ml.p;
    float* l = ml.p + Bq;
    auto k_tile = [&](int64_t bh, int64_t kb) -> const float* {
      const int64_t t = bh * nkb + kb, k0 = kb * Bk;
      float* dst = packed.claim(t, kt_all.p + t * tile, own.p);
      if (dst) {
        pack_transposed(k + (bh * nk + k0) * d, lo(Bk, nk - k0), d, dst, bkp);
        if (dst != own.p) packed.publish(t);
        return dst;
      }
      return kt_all.p + t * tile;
    };
    // Causal tiles near the end of a head have the most keys: hand those out first.
#pragma omp for schedule(dynamic, 1) nowait
    for (int64_t u = 0; u < units; ++u) {
      const int64_t bh = u / nqb, qb = nqb - 1 - u % nqb;
      const int64_t q0 = qb * Bq, rows = lo(Bq, nq - q0);
      const float* qh = q + (bh * nq + q0) * d;
      const float* vh = v + bh * nk * dv;
      // The scale is folded into Q once so that scores come out of the GEMM ready for the softmax.
      for (int64_t i = 0; i < rows * d; ++i) qs.p[i] = qh[i] * sh.scale;
      for (int64_t r = 0; r < rows; ++r) m[r] = kNegInf, l[r] = 0.0f;
      std::memset(oacc.p, 0, sizeof(float) * rows * dvp);
      const int64_t kend = sh.causal ? lo(nk, q0 + rows) : nk;
      for (int64_t k0 = 0; k0 < kend; k0 += Bk) {
        // Keys past kend are masked for every row of the block: the last tile stops there.
        const int64_t cols = lo(Bk, kend - k0), colsp = round_up(cols, W);
        const float* kt = k_tile(bh, k0 / Bk);
        const float* vb = vh + k0 * dv;
        if (!v_direct) pack_rows(vb, cols, dv, vp.p, dvp), vb = vp.p;
        K::template gemm<false>(rows, colsp, d, qs.p, d, kt, bkp, s.p, bkp, false);
        if (cols < colsp || (sh.causal && k0 + cols - 1 > q0))
          mask_tile(s.p, bkp, rows, q0, k0, cols, colsp, sh.causal, kNegInf);
        for (int64_t r = 0; r < rows; ++r) {
          float* sr = s.p + r * bkp;
          const float mx = K::row_max(sr, colsp);
          const float mnew = mx > m[r] ? mx : m[r];
          // A row that has seen no key yet keeps m = -inf; shift by 0 then so exp(-inf) stays 0.
          const float shift = mnew == kNegInf ? 0.0f : mnew;
          const float alpha = m[r] == mnew ? 1.0f : m[r] == kNegInf ? 0.0f : std::exp(m[r] - shift);
          const float rs = K::exp_sum(sr, colsp, 1.0f, shift);
          l[r] = l[r] * alpha + rs;
          m[r] = mnew;
          if (alpha != 1.0f) K::scale_row(oacc.p + r * dvp, dvp, alpha);
        }
        K::template gemm<false>(rows, dvp, cols, s.p, bkp, vb, dvp, oacc.p, dvp, true);
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* orow = o + (bh * nq + q0 + r) * dv;
        const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
        for (int64_t c = 0; c < dv; ++c) orow[c] = oacc.p[r * dvp + c] * inv;
        if (lse) lse[bh * nq + q0 + r] = l[r] > 0.0f ? m[r] + std::log(l[r]) : kNegInf;
      }
    }
  }
}

// Backward, FlashAttention-2 style: one key block at a time owns its dK, dV rows (no races); it walks
// the query blocks that see it, recomputing P = exp(scale * S - lse), and adds dS @ K into a
// per-thread dQ accumulator (Nq x d: O(N d), never N x N). Two ways to share the work:
//   - many heads (bh a multiple of the thread count, or >= 4 per thread): each thread takes whole
//     heads, and its dQ accumulator is that head's dQ;
//   - few heads: all threads split one head's key blocks, then sum their dQ accumulators.
template <class K>
void backward_tiles(const AttnShape& sh, const float* dout, const float* q, const float* k,
                    const float* v, const float* o, const float* lse, float* dq, float* dk,
                    float* dv_) {
  constexpr int64_t W = K::W;
  const int64_t d = sh.d, dv = sh.dv, nq = sh.nq, nk = sh.nk, bh_n = sh.bh;
  const int64_t dp = round_up(d, W), dvp = round_up(dv, W), bkp = round_up(kBk, W);
  const int64_t nkb = (nk + kBk - 1) / kBk;
  const float scale = sh.scale;
  const int threads = omp_get_max_threads();
  const bool by_head = threads == 1 || bh_n % threads == 0 || bh_n >= 4 * threads;

  // one dQ accumulator per thread, zeroed per head
  Scratch dq_all(attention_size_mul(attention_size_mul(threads, nq), dp), /*zero=*/false, "attention's dQ accumulators");
  const ThreadSlabs<10> slab({d * bkp, dv * bkp, d == dp ? 0 : kBk * dp, kBk * dp, kBk * dvp, kBq * bkp, kBq * bkp,
                              d == dp ? 0 : kBq * dp, dv == dvp ? 0 : kBq * dvp, nq});
  Scratch per_thread(attention_size_mul(threads, slab.stride), true, "attention_backward's per-thread tiles");

#pragma omp parallel num_threads(threads)
  {
    const int tid = omp_get_thread_num();
    float* const mine = per_thread.p + tid * slab.stride;
    const View kt{mine + slab.offset[0]}, vt{mine + slab.offset[1]}, kp{mine + slab.offset[2]},
        dka{mine + slab.offset[3]}, dva{mine + slab.offset[4]}, s{mine + slab.offset[5]}, dpb{mine + slab.offset[6]},
        qp{mine + slab.offset[7]}, dop{mine + slab.offset[8]}, dl{mine + slab.offset[9]};
    float* const dqa = dq_all.p + tid * nq * dp;

    // D = rowsum(dO * O) of one head, the softmax backward's per-row constant. Each thread computes
    // its own copy (nq * dv work, next to nq * nk * d for the head) so that no barrier is needed.
    auto row_dots = [&](int64_t bh) {
      const float* a = dout + bh * nq * dv;
      const float* b = o + bh * nq * dv;
      for (int64_t r = 0; r < nq; ++r) {
        double acc = 0.0;
        for (int64_t c = 0; c < dv; ++c) acc += static_cast<double>(a[r * dv + c]) * b[r * dv + c];
        dl.p[r] = static_cast<float>(acc);
      }
    };

    // One key block of one head: its dK, dV rows, and its share of dQ into dqa.
    auto key_block = [&](int64_t bh, int64_t kb) {
      const int64_t k0 = kb * kBk, cols = lo(kBk, nk - k0), colsp = round_up(cols, W);
      const float* kh = k + (bh * nk + k0) * d;
      const float* vh = v + (bh * nk + k0) * dv;
      pack_transposed(kh, cols, d, kt.p, colsp);
      pack_transposed(vh, cols, dv, vt.p, colsp);
      const float* kb_rows = d == dp ? kh : (pack_rows(kh, cols, d, kp.p, dp), kp.p);
      std::memset(dka.p, 0, sizeof(float) * cols * dp);
      std::memset(dva.p, 0, sizeof(float) * cols * dvp);
      // Causal: queries before k0 see none of these keys.
      const int64_t qstart = sh.causal ? (k0 / kBq) * kBq : 0;
      for (int64_t q0 = qstart; q0 < nq; q0 += kBq) {
        const int64_t rows = lo(kBq, nq - q0);
        const float* qh = q + (bh * nq + q0) * d;
        const float* doh = dout + (bh * nq + q0) * dv;
        const float* lh = lse + bh * nq + q0;
        const float* qb = d == dp ? qh : (pack_rows(qh, rows, d, qp.p, dp), qp.p);
        const float* dob = dv == dvp ? doh : (pack_rows(doh, rows, dv, dop.p, dvp), dop.p);
        K::template gemm<false>(rows, colsp, d, qh, d, kt.p, colsp, s.p, bkp, false);
        for (int64_t r = 0; r < rows; ++r) K::exp_sum(s.p + r * bkp, colsp, scale, lh[r]);
        // Masked after the exp (a negative scale would turn -inf scores into +inf).
        if (cols < colsp || (sh.causal && k0 + cols - 1 > q0))
          mask_tile(s.p, bkp, rows, q0, k0, cols, colsp, sh.causal, 0.0f);
        K::template gemm<false>(rows, colsp, dv, doh, dv, vt.p, colsp, dpb.p, bkp, false);
        K::template gemm<true>(cols, dvp, rows, s.p, bkp, dob, dvp, dva.p, dvp, true);
        for (int64_t r = 0; r < rows; ++r) K::ds_row(dpb.p + r * bkp, s.p + r * bkp, colsp, dl.p[q0 + r], scale);
        K::template gemm<true>(cols, dp, rows, dpb.p, bkp, qb, dp, dka.p, dp, true);
        K::template gemm<false>(rows, dp, cols, dpb.p, bkp, kb_rows, dp, dqa + q0 * dp, dp, true);
      }
      for (int64_t r = 0; r < cols; ++r) {
        std::memcpy(dk + (bh * nk + k0 + r) * d, dka.p + r * dp, sizeof(float) * d);
        std::memcpy(dv_ + (bh * nk + k0 + r) * dv, dva.p + r * dvp, sizeof(float) * dv);
      }
    };

    if (by_head) {
#pragma omp for schedule(dynamic, 1) nowait
      for (int64_t bh = 0; bh < bh_n; ++bh) {
        std::memset(dqa, 0, sizeof(float) * nq * dp);
        row_dots(bh);
        for (int64_t kb = 0; kb < nkb; ++kb) key_block(bh, kb);
        for (int64_t r = 0; r < nq; ++r)
          std::memcpy(dq + (bh * nq + r) * d, dqa + r * dp, sizeof(float) * d);
      }
    } else {
      const int nt = omp_get_num_threads();
      for (int64_t bh = 0; bh < bh_n; ++bh) {
        std::memset(dqa, 0, sizeof(float) * nq * dp);
        row_dots(bh);
        // Causal key blocks late in the sequence see few queries: hand out the early ones first.
#pragma omp for schedule(dynamic, 1)
        for (int64_t kb = 0; kb < nkb; ++kb) key_block(bh, kb);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < nq; ++r) {
          float* out = dq + (bh * nq + r) * d;
          for (int64_t c = 0; c < d; ++c) out[c] = dq_all.p[r * dp + c];
          for (int t = 1; t < nt; ++t)
            for (int64_t c = 0; c < d; ++c) out[c] += dq_all.p[(t * nq + r) * dp + c];
        }
      }
    }
  }
}

}  // namespace
}  // namespace forgenet

// The tile loops of the fused attention forward and backward, written once and instantiated by each
// ISA's build of isa/attention_kernels.cpp with the micro-kernels `K` of attention_simd.h:
//
//   K::W, K::MR, K::NR         floats per vector; the register tile is MR rows x NR columns
//   K::kFwdBq, K::kFwdBk       forward tile: query rows (a multiple of MR; attention.cpp takes twice
//                              as many at large N) x keys (of NR)
//   K::kBq, K::kBk             backward tile: both multiples of MR and of NR
//   K::gemm<ROWS>(m, n, kk, A, sa, Bp, bs, C, ldc, acc)
//                              C[m x n] (+)= A[m x kk] @ B[kk x n], m a multiple of MR, n of NR;
//                              A(i, p) = ROWS ? A[i*sa + p] : A[p*sa + i]; B is packed: columns
//                              [j*NR, j*NR + NR) are the panel at Bp + j*bs, kk steps of NR floats
//   K::row_max(x, n)           max of x[0..n), n a multiple of W
//   K::exp_sum(x, n, a, b)     x = 2^(a*x - b) in place, returns the sum (2^-inf is exactly 0)
//   K::gemm_epi<E>(m, n, kk, A, sa, Bp, bs, C, ldc, ep)
//                              gemm<true>(.., acc = false) whose tiles leave the micro-kernel through
//                              epilogue E (K::EpiArgs ep): the backward's P (kBwdExp), dS (kDs)
//   K::scale_row(x, n, a)      x *= a
//
// Every product's B operand is packed once into the micro-kernel's panel layout (contiguous, so the
// micro-kernel streams it without cache-set conflicts) and reused by every row block that needs it:
// the forward packs K^T and V once per head (attention.cpp: per thread that takes whole heads, shared
// when the threads split a head's query blocks); the backward packs K, K^T,
// V^T once per key block and Q, dO once per query chunk and key span. A rows are read in place.
//
// These are leaf loops over one head or one query block: attention.cpp (compiled once) cuts the work,
// runs it on its threads and hands each piece its scratch (dispatch.h's rule for per-ISA sources).
// Everything here has internal linkage: each ISA file gets its own copy compiled with its own flags,
// and the linker never swaps an AVX-512 copy into the generic path.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cpu/attention.h"

namespace forgenet {
namespace {

inline int64_t lo(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }
// Owner of key block kb among nt threads, in snake order (0 1 .. nt-1 nt-1 .. 1 0 0 1 ..).
inline int snake_owner(int64_t kb, int nt) {
  const int64_t r = kb / nt, p = kb % nt;
  return static_cast<int>(r % 2 ? nt - 1 - p : p);
}
constexpr float kNegInf = -__builtin_inff(), kInf = __builtin_inff();
// Scores are kept in base-2 units (scaled by log2(e)) so that the softmax's exponential is 2^x, whose
// range reduction is one rounding instead of a two-step n * ln2 split.
constexpr float kLog2e = 1.44269504088896341f, kLn2 = 0.693147180559945309f;

// B = X^T as panels: X has n rows of k floats (row stride ldx); the panel of columns [j0, j0 + NR)
// holds X's rows j0.. as k steps of NR floats. Rows n..npad (npad a multiple of NR) are zero.
inline void pack_bt(const float* x, int64_t ldx, int64_t n, int64_t npad, int64_t k, int64_t NR, float* dst) {
  for (int64_t j0 = 0; j0 < npad; j0 += NR, dst += k * NR)
    for (int64_t jj = 0; jj < NR; ++jj) {
      const float* s = x + (j0 + jj) * ldx;
      if (j0 + jj < n)
        for (int64_t p = 0; p < k; ++p) dst[p * NR + jj] = s[p];
      else
        for (int64_t p = 0; p < k; ++p) dst[p * NR + jj] = 0.0f;
    }
}

// B = X as panels: X has k rows of n floats (row stride ldx); the panel of columns [j0, j0 + NR)
// holds kpad steps of NR floats (panel stride kpad * NR). Columns n..npad and rows k..kpad are zero.
inline void pack_b(const float* x, int64_t ldx, int64_t k, int64_t kpad, int64_t n, int64_t npad, int64_t NR,
                   float* dst) {
  for (int64_t j0 = 0; j0 < npad; j0 += NR) {
    const int64_t w = lo(NR, n - j0 > 0 ? n - j0 : 0);
    for (int64_t p = 0; p < kpad; ++p, dst += NR) {
      int64_t c = 0;
      if (p < k)
        for (const float* s = x + p * ldx + j0; c < w; ++c) dst[c] = s[c];
      for (; c < NR; ++c) dst[c] = 0.0f;
    }
  }
}

// dst (rows x ldd) = src (rows x cols, row stride cols) * scale, columns cols..ldd and rows
// rows..rows_pad zero.
inline void copy_rows(const float* src, int64_t rows, int64_t rows_pad, int64_t cols, float* dst, int64_t ldd,
                      float scale = 1.0f) {
  for (int64_t r = 0; r < rows_pad; ++r) {
    float* d = dst + r * ldd;
    int64_t c = 0;
    if (r < rows)
      for (const float* s = src + r * cols; c < cols; ++c) d[c] = s[c] * scale;
    for (; c < ldd; ++c) d[c] = 0.0f;
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

template <class K>
AttnTiles tiles() {
  return {K::MR, K::NR, K::kFwdBq, K::kFwdBk, K::kBq, K::kBk};
}

// Key tiles [kb0, kb1) of head bh, each as Bk/NR panels of K^T (d x NR) then dvp/NR panels of V
// (Bk x NR); keys past nk are zero.
template <class K>
void forward_pack(const AttnShape& sh, const AttnFwdPlan& p, const float* k, const float* v, int64_t bh,
                  int64_t kb0, int64_t kb1, float* kv) {
  constexpr int64_t NR = K::NR, Bk = K::kFwdBk;
  const int64_t d = sh.d, dv = sh.dv, nk = sh.nk;
  for (int64_t kb = kb0; kb < kb1; ++kb) {
    const int64_t k0 = kb * Bk, cols = lo(Bk, nk - k0);
    float* dst = kv + kb * p.tile;
    pack_bt(k + (bh * nk + k0) * d, d, cols, Bk, d, NR, dst);
    pack_b(v + (bh * nk + k0) * dv, dv, cols, Bk, dv, p.dvp, NR, dst + Bk * d);
  }
}

// Query block qb of head bh: rows [qb * bq, ..) against the packed keys, with an online softmax.
template <class K>
void forward_block(const AttnShape& sh, const AttnFwdPlan& p, const float* q, const float* kv, int64_t bh,
                   int64_t qb, float* work, float* o, float* lse) {
  constexpr int64_t MR = K::MR, NR = K::NR, Bk = K::kFwdBk;
  static_assert(K::kFwdBq % MR == 0 && Bk % NR == 0, "forward tile must hold whole register tiles");
  const int64_t d = sh.d, dv = sh.dv, nq = sh.nq, nk = sh.nk, dvp = p.dvp, Bq = p.bq;
  float* const qs = work;
  float* const s = work + p.off_s;
  float* const oacc = work + p.off_o;
  float* const m = oacc + Bq * dvp;
  float* const l = m + Bq;
  const int64_t q0 = qb * Bq, rows = lo(Bq, nq - q0), rowsp = round_up(rows, MR);
  // The scale (and log2 e) is folded into Q once so that scores come out of the GEMM ready for the
  // softmax; padding rows are zero, so their scores and probabilities are finite and unread.
  copy_rows(q + (bh * nq + q0) * d, rows, rowsp, d, qs, d, sh.scale * kLog2e);
  for (int64_t r = 0; r < rows; ++r) m[r] = kNegInf, l[r] = 0.0f;
  std::memset(oacc, 0, sizeof(float) * rowsp * dvp);
  const int64_t kend = sh.causal ? lo(nk, q0 + rows) : nk;
  for (int64_t k0 = 0; k0 < kend; k0 += Bk) {
    // Keys past kend are masked for every row of the block: the last tile stops there.
    const int64_t cols = lo(Bk, kend - k0), colsp = round_up(cols, NR);
    const float* kt = kv + k0 / Bk * p.tile;
    K::template gemm<true>(rowsp, colsp, d, qs, d, kt, d * NR, s, Bk, false);
    if (cols < colsp || (sh.causal && k0 + cols - 1 > q0))
      mask_tile(s, Bk, rows, q0, k0, cols, colsp, sh.causal, kNegInf);
    for (int64_t r = 0; r < rows; ++r) {
      float* sr = s + r * Bk;
      const float mx = K::row_max(sr, colsp);
      const float mnew = mx > m[r] ? mx : m[r];
      // A row that has seen no key yet keeps m = -inf; shift by 0 then so 2^-inf stays 0.
      const float shift = mnew == kNegInf ? 0.0f : mnew;
      const float alpha = m[r] == mnew ? 1.0f : m[r] == kNegInf ? 0.0f : std::exp2(m[r] - shift);
      const float rs = K::exp_sum(sr, colsp, 1.0f, shift);
      l[r] = l[r] * alpha + rs;
      m[r] = mnew;
      if (alpha != 1.0f) K::scale_row(oacc + r * dvp, dvp, alpha);
    }
    K::template gemm<true>(rowsp, dvp, cols, s, Bk, kt + Bk * d, Bk * NR, oacc, dvp, true);
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* orow = o + (bh * nq + q0 + r) * dv;
    const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    for (int64_t c = 0; c < dv; ++c) orow[c] = oacc[r * dvp + c] * inv;
    if (lse) lse[bh * nq + q0 + r] = l[r] > 0.0f ? kLn2 * m[r] + std::log(l[r]) : kNegInf;
  }
}

// Backward: S = scale Q K^T, P = exp(S - lse), dV = P^T dO, dP = dO V^T, dS = scale P (dP - D) with
// D = rowsum(dO * O), dK = dS^T Q, dQ = dS K, one Bq x Bk tile at a time (P is recomputed, never
// stored: O(N d) memory).
//
// Loop order within a head: key spans (p.slots packed key blocks a part), then query chunks (p.cq
// rows, a whole number of Bq blocks sized for L2), then the span's key blocks, then the chunk's
// query blocks. The chunk stays in L2 while each key block of the span (contiguous, packed once)
// streams past it from L3. FlashAttention-2's order (key blocks outer, all queries inner) streams
// every query row's Q, dO, panels and dQ from L3 or memory once per key block, in short pieces:
// megabytes a head from N = 4096. A part owns the key blocks kb with snake_owner(kb, parts) == part
// (0 1 1 0 0 1 ...: the causal work falls with the key's position, so this balances it); it alone
// writes their dK, dV, and its share of dQ builds up in its own accumulator.
// The key tile is always Bk wide (padding keys masked), so that it is a whole number of register
// tiles both as columns (S, dP) and as rows (dK, dV).
template <class K>
void backward_head(const AttnShape& sh, const AttnBwdPlan& p, const float* dout, const float* q, const float* k,
                   const float* v, const float* o, const float* lse, int64_t bh, int part, int parts, float* mine,
                   float* dk, float* dv_) {
  constexpr int64_t MR = K::MR, NR = K::NR, Bq = K::kBq, Bk = K::kBk;
  static_assert(Bq % MR == 0 && Bk % MR == 0 && Bk % NR == 0, "backward tile must hold whole register tiles");
  const int64_t d = sh.d, dv = sh.dv, nq = sh.nq, nk = sh.nk, nkb = p.nkb;
  const int64_t dp = p.dp, dvp = p.dvp, cq = p.cq, kbs = p.kbs;
  const float scale = sh.scale;
  float* const qpan = mine + p.off[0];
  float* const dopan = mine + p.off[1];
  float* const dqa = mine + p.off[2];
  float* const keys = mine + p.off[3];
  float* const s = mine + p.off[4];
  float* const dpb = mine + p.off[5];
  float* const qpad = mine + p.off[6];
  float* const dopad = qpad + Bq * d;
  float* const dl = mine + p.off[7];
  // A query block's rows of lse * log2 e and of D, padded (the fused epilogues run over rowsp rows):
  // padding rows shift by +inf, so their P (and dS) are 0.
  float* const lrow = dl + nq;
  float* const drow = lrow + Bq;
  auto ours = [&](int64_t kb) { return parts == 1 || snake_owner(kb, parts) == part; };
  // A span of the head's key blocks: `slots` a part, so parts * slots of them (span-aligned windows
  // of a multiple of `parts` blocks give each part the same number in snake order). Each part keeps
  // its own blocks of the span, in order, in its slots.
  const int64_t span = lo(nkb, p.slots * parts);

  // D for the head. Each part makes its own (nq * dv work, next to nq * nk * d for the head) so that
  // the parts need not wait for each other.
  {
    const float* a = dout + bh * nq * dv;
    const float* b = o + bh * nq * dv;
    for (int64_t r = 0; r < nq; ++r) {
      double acc = 0.0;
      for (int64_t c = 0; c < dv; ++c) acc += static_cast<double>(a[r * dv + c]) * b[r * dv + c];
      dl[r] = static_cast<float>(acc);
    }
  }

  // Key block kb in slot `slot`: its panels, and zeroed dK, dV.
  auto pack_keys = [&](int64_t kb, int64_t slot) {
    float* kt = keys + slot * kbs;
    float* vt = kt + Bk * d;
    float* kpan = vt + Bk * dv;
    const int64_t k0 = kb * Bk, cols = lo(Bk, nk - k0);
    const float* kh = k + (bh * nk + k0) * d;
    pack_bt(kh, d, cols, Bk, d, NR, kt);
    pack_bt(v + (bh * nk + k0) * dv, dv, cols, Bk, dv, NR, vt);
    pack_b(kh, d, cols, Bk, d, dp, NR, kpan);
    std::memset(kpan + Bk * dp, 0, sizeof(float) * Bk * (dp + dvp));
  };

  auto store_keys = [&](int64_t kb, int64_t slot) {
    const float* dka = keys + slot * kbs + Bk * (d + dv + dp);
    const float* dva = dka + Bk * dp;
    const int64_t k0 = kb * Bk, cols = lo(Bk, nk - k0);
    for (int64_t r = 0; r < cols; ++r) {
      for (int64_t c = 0; c < d; ++c) dk[(bh * nk + k0 + r) * d + c] = dka[r * dp + c] * sh.scale;
      std::memcpy(dv_ + (bh * nk + k0 + r) * dv, dva + r * dvp, sizeof(float) * dv);
    }
  };

  // Chunk [c0, c0 + crows) against key block kb: its share of dK, dV and of the chunk's dQ. The
  // chunk's panels hold crowsp rows (panel strides crowsp * NR).
  auto block_pass = [&](int64_t kb, int64_t slot, int64_t c0, int64_t crows, int64_t crowsp) {
    const float* kt = keys + slot * kbs;
    const float* vt = kt + Bk * d;
    const float* kpan = vt + Bk * dv;
    float* dka = keys + slot * kbs + Bk * (d + dv + dp);
    float* dva = dka + Bk * dp;
    const int64_t k0 = kb * Bk, cols = lo(Bk, nk - k0), cend = c0 + crows;
    // Causal: query blocks ending before k0 see none of these keys.
    const int64_t qstart = sh.causal && k0 / Bq * Bq > c0 ? k0 / Bq * Bq : c0;
    for (int64_t q0 = qstart; q0 < cend; q0 += Bq) {
      const int64_t rows = lo(Bq, cend - q0), rowsp = round_up(rows, MR), at = q0 - c0;
      const float* qa = q + (bh * nq + q0) * d;
      const float* doa = dout + (bh * nq + q0) * dv;
      if (rows < rowsp) {  // A rows are read in place, so the ragged last block reads a padded copy
        copy_rows(qa, rows, rowsp, d, qpad, d), qa = qpad;
        copy_rows(doa, rows, rowsp, dv, dopad, dv), doa = dopad;
      }
      const float* lh = lse + bh * nq + q0;
      for (int64_t r = 0; r < rowsp; ++r) {
        lrow[r] = r < rows ? lh[r] * kLog2e : kInf;
        drow[r] = r < rows ? dl[q0 + r] : 0.0f;
      }
      // P = 2^(scale log2(e) S - lse log2(e)) straight out of the S micro-kernel; padding rows' P is 0.
      K::template gemm_epi<K::kBwdExp>(rowsp, Bk, d, qa, d, kt, d * NR, s, Bk, {lrow, scale * kLog2e, nullptr});
      // Masked after the exp (a negative scale would turn -inf scores into +inf).
      if (cols < Bk || (sh.causal && k0 + cols - 1 > q0))
        mask_tile(s, Bk, rows, q0, k0, cols, Bk, sh.causal, 0.0f);
      // dS / scale = P (dP - D) out of the dP micro-kernel (the scale is applied once to dK and dQ).
      K::template gemm_epi<K::kDs>(rowsp, Bk, dv, doa, dv, vt, dv * NR, dpb, Bk, {drow, 0.0f, s});
      K::template gemm<false>(Bk, dvp, rowsp, s, Bk, dopan + at * NR, crowsp * NR, dva, dvp, true);
      K::template gemm<false>(Bk, dp, rowsp, dpb, Bk, qpan + at * NR, crowsp * NR, dka, dp, true);
      K::template gemm<true>(rowsp, dp, Bk, dpb, Bk, kpan, Bk * NR, dqa + q0 * dp, dp, true);
    }
  };

  std::memset(dqa, 0, sizeof(float) * p.nqr * dp);
  for (int64_t kb0 = 0; kb0 < nkb; kb0 += span) {
    const int64_t kb1 = lo(nkb, kb0 + span);
    for (int64_t kb = kb0, slot = 0; kb < kb1; ++kb)
      if (ours(kb)) pack_keys(kb, slot++);
    // Causal: chunks that end before the span's first key see none of it.
    for (int64_t c0 = sh.causal ? kb0 * Bk / cq * cq : 0; c0 < nq; c0 += cq) {
      const int64_t crows = lo(cq, nq - c0), crowsp = round_up(crows, MR);
      // ... nor the chunk any key from c0 + crows on.
      const int64_t kend = sh.causal ? lo(kb1, (lo(nk, c0 + crows) + Bk - 1) / Bk) : kb1;
      pack_b(q + (bh * nq + c0) * d, d, crows, crowsp, d, dp, NR, qpan);
      pack_b(dout + (bh * nq + c0) * dv, dv, crows, crowsp, dv, dvp, NR, dopan);
      for (int64_t kb = kb0, slot = 0; kb < kend; ++kb)
        if (ours(kb)) block_pass(kb, slot++, c0, crows, crowsp);
    }
    for (int64_t kb = kb0, slot = 0; kb < kb1; ++kb)
      if (ours(kb)) store_keys(kb, slot++);
  }
}

}  // namespace
}  // namespace forgenet

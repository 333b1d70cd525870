// What the fused recurrent kernels (gru.cpp, simple_rnn.cpp) share about running a time loop: how the
// batch is split over threads, the row-split loop itself with sgemm kept serial inside, the transposed
// recurrent kernel and the column sums of bias gradients. (lstm.cpp has its own copy of the first two, with a unit-split plan on top.)
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "common/workspace.h"
#include "cpu/parallel.h"

namespace forgenet::rnn {

// Every sample is an independent recurrence, so the time loop splits by samples with no
// synchronisation: each thread gets >= 8 rows (whole GEMM micro-panels), and one thread per ~0.5M
// multiply-adds of a step's recurrent GEMM at most (below that the split costs more than it saves).
inline int row_threads(int64_t N, int64_t U, int64_t gates) {
  if (pool::inside()) return 1;
  const int64_t by_work = std::min<int64_t>(pool::max_threads(), static_cast<int64_t>(double(gates) * N * U * U / 5e5));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(by_work, N / 8)));
}

// Part k of nt of [0, n): contiguous, inner boundaries rounded to multiples of q.
inline void split_range(int64_t n, int64_t q, int k, int nt, int64_t& lo, int64_t& hi) {
  auto cut = [&](int i) { return i >= nt ? n : std::min(n, (n * i / nt + q / 2) / q * q); };
  lo = cut(k);
  hi = cut(k + 1);
}

// out[j] = sum over rows m < M of a[m * lda + j], j < G, accumulated in double; each thread owns a
// block of columns while the rows stream through.
inline void column_sums(const float* a, int64_t M, int64_t G, int64_t lda, float* out) {
  parallel_for(0, (G + 63) / 64, grain_for(64 * M), [&](int64_t b0, int64_t b1) {
    for (int64_t j0 = b0 * 64; j0 < std::min(G, b1 * 64); j0 += 64) {
      const int64_t j1 = std::min(G, j0 + 64);
      double acc[64] = {};
      for (int64_t m = 0; m < M; ++m) {
        const float* row = a + m * lda;
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) acc[j - j0] += row[j];
      }
      for (int64_t j = j0; j < j1; ++j) out[j] = static_cast<float>(acc[j - j0]);
    }
  });
}

// The time loop of a row-split recurrence: body(n0, n1) runs every step for samples [n0, n1), one
// block per thread (row_threads), with sgemm kept serial inside (it runs inside the pool's chunks, even for one block). The blocks are claimed (a late thread's
// block runs on another), and the first error a body throws is rethrown after all blocks ended.
template <typename Body>
void for_row_blocks(int64_t N, int64_t U, int64_t gates, Body&& body) {
  const int nt = row_threads(N, U, gates);
  parallel_run(nt, nt, [&](int k) {
    int64_t n0, n1;
    split_range(N, 8, k, nt, n0, n1);
    if (n1 > n0) body(n0, n1);
  });
}

// rt (cols, rows) = r (rows, cols)^T, so each backward step's GEMM reads plain row blocks.
inline void transpose(const float* r, int64_t rows, int64_t cols, float* rt) {
  for (int64_t u = 0; u < rows; ++u)
    for (int64_t j = 0; j < cols; ++j) rt[j * rows + u] = r[u * cols + j];
}

// What a backward with no steps or no units leaves: zero weight gradients and dx.
inline void zero_all(std::initializer_list<std::pair<float*, int64_t>> bufs) {
  for (const auto& [p, n] : bufs)
    if (p) std::fill(p, p + n, 0.0f);
}

}  // namespace forgenet::rnn

// What the fused recurrent kernels (gru.cpp, simple_rnn.cpp) share about running a time loop: how the
// batch is split over threads, keeping sgemm serial inside the loop, and the column sums of bias
// gradients. (lstm.cpp has its own copy of the first two, with a unit-split plan on top.)
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace forgenet::rnn {

// Every sample is an independent recurrence, so the time loop splits by samples with no
// synchronisation: each thread gets >= 8 rows (whole GEMM micro-panels), and one thread per ~0.5M
// multiply-adds of a step's recurrent GEMM at most (below that the split costs more than it saves).
inline int row_threads(int64_t N, int64_t U, int64_t gates) {
  if (omp_in_parallel()) return 1;
  const int64_t by_work = std::min<int64_t>(omp_get_max_threads(), static_cast<int64_t>(double(gates) * N * U * U / 5e5));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(by_work, N / 8)));
}

// Part k of nt of [0, n): contiguous, inner boundaries rounded to multiples of q.
inline void split_range(int64_t n, int64_t q, int k, int nt, int64_t& lo, int64_t& hi) {
  auto cut = [&](int i) { return i >= nt ? n : std::min(n, (n * i / nt + q / 2) / q * q); };
  lo = cut(k);
  hi = cut(k + 1);
}

// Inside the time loop sgemm must run on the calling thread: within a team it does so by itself
// (omp_in_parallel), and for a one-thread loop this guard caps the thread count meanwhile.
struct SerialGemm {
  int saved = omp_get_max_threads();
  SerialGemm() { omp_set_num_threads(1); }
  ~SerialGemm() { omp_set_num_threads(saved); }
};

// out[j] = sum over rows m < M of a[m * lda + j], j < G, accumulated in double; each thread owns a
// block of columns while the rows stream through.
inline void column_sums(const float* a, int64_t M, int64_t G, int64_t lda, float* out) {
#pragma omp parallel for schedule(static) if (M * G > 65536)
  for (int64_t j0 = 0; j0 < G; j0 += 64) {
    const int64_t j1 = std::min(G, j0 + 64);
    double acc[64] = {};
    for (int64_t m = 0; m < M; ++m) {
      const float* row = a + m * lda;
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) acc[j - j0] += row[j];
    }
    for (int64_t j = j0; j < j1; ++j) out[j] = static_cast<float>(acc[j - j0]);
  }
}

// Scratch of at least n floats that outlives the call, one buffer per (calling thread, slot): the
// backward's large buffers are then mapped and faulted in once rather than on every call (page faults
// were a quarter of a small GRU backward). Contents are unspecified: callers write before reading.
// What a thread has used stays allocated (its largest size so far) until the thread ends.
inline float* scratch(int slot, size_t n) {
  thread_local std::vector<float> buffers[6];
  std::vector<float>& b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace forgenet::rnn

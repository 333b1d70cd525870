// What the GPU recurrent kernels (gru.cu, simple_rnn.cu) share: the grid-stride loop, error returns,
// copy-or-zero of the initial running gradients, and deterministic column sums for bias gradients
// (two fixed-order stages in double, as the CPU sums them; no atomics).
#pragma once
#include "cuda/common.cuh"

namespace forgenet::gpu::rnn {

constexpr int64_t kBiasChunk = 1024;  // rows per partial column sum

#define FORGENET_RNN_GRID_STRIDE(e, total)                                                   \
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < (total); \
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)

#define FORGENET_RNN_TRY(expr)            \
  do {                                    \
    const cudaError_t err_ = (expr);      \
    if (err_ != cudaSuccess) return err_; \
  } while (0)

inline int64_t bias_parts(int64_t rows) { return (rows + kBiasChunk - 1) / kBiasChunk; }

// out = a, or 0 where a is null.
static __global__ void __launch_bounds__(kThreads) copy_or_zero(int64_t n, const float* __restrict__ a,
                                                                float* __restrict__ out) {
  FORGENET_RNN_GRID_STRIDE(e, n) out[e] = a ? a[e] : 0.0f;
}

// partial[p][j] = sum of a[m * lda + j] over rows m of chunk p.
static __global__ void __launch_bounds__(kThreads) colsum_partial(int64_t rows, int64_t cols, const float* __restrict__ a,
                                                                  int64_t lda, int64_t parts, float* __restrict__ partial) {
  FORGENET_RNN_GRID_STRIDE(e, parts * cols) {
    const int64_t j = e % cols, p = e / cols;
    const int64_t m1 = (p + 1) * kBiasChunk < rows ? (p + 1) * kBiasChunk : rows;
    double s = 0.0;
    for (int64_t m = p * kBiasChunk; m < m1; ++m) s += a[m * lda + j];
    partial[e] = static_cast<float>(s);
  }
}

static __global__ void __launch_bounds__(kThreads) colsum_final(int64_t cols, int64_t parts,
                                                                const float* __restrict__ partial, float* __restrict__ out) {
  FORGENET_RNN_GRID_STRIDE(j, cols) {
    double s = 0.0;
    for (int64_t p = 0; p < parts; ++p) s += partial[p * cols + j];
    out[j] = static_cast<float>(s);
  }
}

// out (cols) = column sums of a (rows x cols, row stride lda); scratch holds bias_parts(rows) * cols floats.
inline cudaError_t column_sums(const float* a, int64_t rows, int64_t cols, int64_t lda, float* out, float* scratch,
                               cudaStream_t stream) {
  const int64_t parts = bias_parts(rows);
  FORGENET_LAUNCH(colsum_partial, blocks_for(parts * cols), kThreads, stream, rows, cols, a, lda, parts, scratch);
  FORGENET_RNN_TRY(launch_status());
  FORGENET_LAUNCH(colsum_final, blocks_for(cols), kThreads, stream, cols, parts, scratch, out);
  return launch_status();
}

}  // namespace forgenet::gpu::rnn

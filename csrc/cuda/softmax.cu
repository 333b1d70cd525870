// Softmax and fused softmax-cross-entropy: one block per row (blocks loop past 2^20 rows), kThreads threads striding over the
// columns, block reductions for the max and the sums. Same numerics as csrc/cpu/softmax.cpp: the max
// ignores NaN but a NaN anywhere in a row makes the whole row NaN; exp sums and dot products are
// accumulated in double.
#include "cuda/common.cuh"
#include "cuda/softmax.h"

#include <math.h>

namespace forgenet::gpu {

namespace {

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct OrOp {
  __device__ int operator()(int a, int b) const { return a | b; }
};
struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// The row's shift: its max, or NaN when any element is NaN (CPU rule). Every thread gets it.
__device__ inline float row_shift(const float* x, int64_t cols, float* fsm, int* ism) {
  float m = -INFINITY;
  int nan = 0;
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
    const float v = x[c];
    m = fmaxf(m, v);
    nan |= (v != v);
  }
  m = block_reduce(m, fsm, MaxOp{});
  nan = block_reduce(nan, ism, OrOp{});
  return nan ? NAN : m;
}

// sum_c exp(x[c] - m), each exp also stored to out (which may be null).
__device__ inline double exp_sum(const float* x, float m, float* out, int64_t cols, double* dsm) {
  double s = 0.0;
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
    const float e = expf(x[c] - m);
    if (out) out[c] = e;
    s += e;
  }
  return block_reduce(s, dsm, SumOp{});
}

__global__ void __launch_bounds__(kThreads) softmax_kernel(const float* __restrict__ x, float* __restrict__ y,
                                                          int64_t rows, int64_t cols) {
  __shared__ float fsm[kThreads];
  __shared__ int ism[kThreads];
  __shared__ double dsm[kThreads];
  // rows stride over the grid (uniform per block, so the barriers inside stay safe)
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = row_shift(xr, cols, fsm, ism);
    const float inv = 1.0f / static_cast<float>(exp_sum(xr, m, yr, cols, dsm));
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] *= inv;
  }
}

__global__ void __launch_bounds__(kThreads) softmax_backward_kernel(const float* __restrict__ y,
                                                                   const float* __restrict__ dy,
                                                                   float* __restrict__ dx, int64_t rows, int64_t cols) {
  __shared__ double dsm[kThreads];
  // rows stride over the grid (uniform per block, so the barriers inside stay safe)
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    double dot = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) dot += static_cast<double>(yr[c]) * dyr[c];
    const float d = static_cast<float>(block_reduce(dot, dsm, SumOp{}));
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) dx[r * cols + c] = yr[c] * (dyr[c] - d);
  }
}

__global__ void __launch_bounds__(kThreads) xent_sparse_kernel(const float* __restrict__ logits,
                                                              const int64_t* __restrict__ labels,
                                                              float* __restrict__ loss, float* __restrict__ grad,
                                                              int64_t rows, int64_t cols) {
  __shared__ float fsm[kThreads];
  __shared__ int ism[kThreads];
  __shared__ double dsm[kThreads];
  // rows stride over the grid (uniform per block, so the barriers inside stay safe)
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* x = logits + r * cols;
    float* g = grad + r * cols;
    const int64_t t = labels[r];
    const bool ok = t >= 0 && t < cols;
    const float m = row_shift(x, cols, fsm, ism);
    const float sum = static_cast<float>(exp_sum(x, m, g, cols, dsm));
    const float inv = 1.0f / sum;
    // Each thread rewrites only the columns it wrote in exp_sum, so no barrier is needed in between.
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) g[c] = ok ? g[c] * inv - (c == t ? 1.0f : 0.0f) : NAN;
    if (threadIdx.x == 0) loss[r] = ok ? logf(sum) + m - x[t] : NAN;
  }
}

__global__ void __launch_bounds__(kThreads) xent_dense_kernel(const float* __restrict__ logits,
                                                             const float* __restrict__ target,
                                                             float* __restrict__ loss, float* __restrict__ grad,
                                                             int64_t rows, int64_t cols) {
  __shared__ float fsm[kThreads];
  __shared__ int ism[kThreads];
  __shared__ double dsm[kThreads];
  // rows stride over the grid (uniform per block, so the barriers inside stay safe)
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* x = logits + r * cols;
    const float* t = target + r * cols;
    float* g = grad + r * cols;
    const float m = row_shift(x, cols, fsm, ism);
    const float sum = static_cast<float>(exp_sum(x, m, g, cols, dsm));
    const float inv = 1.0f / sum;
    const float lse = logf(sum) + m;
    double l = 0.0, ts = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      l += static_cast<double>(t[c]) * (lse - x[c]);
      ts += t[c];
    }
    l = block_reduce(l, dsm, SumOp{});
    const float tsum = static_cast<float>(block_reduce(ts, dsm, SumOp{}));
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) g[c] = g[c] * inv * tsum - t[c];
    if (threadIdx.x == 0) loss[r] = static_cast<float>(l);
  }
}

// One block per row up to kMaxRowBlocks, then blocks loop over rows: any row count fits the grid.
constexpr int64_t kMaxRowBlocks = 1 << 20;
inline unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(rows < kMaxRowBlocks ? rows : kMaxRowBlocks); }
inline bool empty_rows(int64_t rows, int64_t cols) { return rows <= 0 || cols <= 0; }

}  // namespace

cudaError_t softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (empty_rows(rows, cols)) return cudaSuccess;
  FORGENET_LAUNCH(softmax_kernel, row_blocks(rows), kThreads, stream, x, y, rows, cols);
  return launch_status();
}

cudaError_t softmax_backward_rows(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols,
                                  cudaStream_t stream) {
  if (empty_rows(rows, cols)) return cudaSuccess;
  FORGENET_LAUNCH(softmax_backward_kernel, row_blocks(rows), kThreads, stream, y, dy, dx, rows, cols);
  return launch_status();
}

cudaError_t softmax_xent_sparse(const float* logits, const int64_t* labels, float* loss, float* grad,
                                int64_t rows, int64_t cols, cudaStream_t stream) {
  if (empty_rows(rows, cols)) return cudaSuccess;
  FORGENET_LAUNCH(xent_sparse_kernel, row_blocks(rows), kThreads, stream, logits, labels, loss, grad,
                  rows, cols);
  return launch_status();
}

cudaError_t softmax_xent_dense(const float* logits, const float* target, float* loss, float* grad,
                               int64_t rows, int64_t cols, cudaStream_t stream) {
  if (empty_rows(rows, cols)) return cudaSuccess;
  FORGENET_LAUNCH(xent_dense_kernel, row_blocks(rows), kThreads, stream, logits, target, loss, grad,
                  rows, cols);
  return launch_status();
}

}  // namespace forgenet::gpu

// LayerNorm: one block per row (kThreads threads striding over the columns) with block reductions in
// double for the row mean, the centred sum of squares (two passes, like the CPU kernel, so |mean| >>
// std stays accurate) and, in the backward, the two dot products dx needs.
// dgamma and dbeta are column sums over rows, done in two fixed-order stages instead of atomics:
// column partials in double over chunks of kRowChunk rows (consecutive threads on consecutive columns,
// so the row reads coalesce), then one thread per column adds the partials in order. Deterministic.
// The workspace is float-typed (the bindings allocate float32) and holds the doubles two floats each.
#include "cuda/common.cuh"
#include "cuda/layernorm.h"

#include <math.h>

namespace forgenet::gpu {

namespace {

constexpr int64_t kRowChunk = 64;          // rows per dgamma/dbeta partial
constexpr int64_t kMaxRowBlocks = 1 << 20;  // row kernels loop when there are more rows

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

inline int64_t partials(int64_t rows) { return (rows + kRowChunk - 1) / kRowChunk; }
inline unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(rows < kMaxRowBlocks ? rows : kMaxRowBlocks); }

__global__ void __launch_bounds__(kThreads) ln_forward(const float* __restrict__ x, const float* __restrict__ gamma,
                                                      const float* __restrict__ beta, float* __restrict__ y,
                                                      float* __restrict__ mean, float* __restrict__ rstd,
                                                      int64_t rows, int64_t cols, float eps) {
  __shared__ double dsm[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform per block: barriers stay safe
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    double s = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += xr[c];
    s = block_reduce(s, dsm, SumOp{});
    const float m = cols ? static_cast<float>(s / static_cast<double>(cols)) : 0.0f;
    double q = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      const double d = xr[c] - m;
      q += d * d;
    }
    q = block_reduce(q, dsm, SumOp{});
    const float var = cols ? static_cast<float>(q / static_cast<double>(cols)) : 0.0f;
    const float rs = 1.0f / sqrtf(var + eps);
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = (xr[c] - m) * rs * gamma[c] + beta[c];
    if (threadIdx.x == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
__global__ void __launch_bounds__(kThreads) ln_backward_dx(const float* __restrict__ dy, const float* __restrict__ x,
                                                          const float* __restrict__ gamma,
                                                          const float* __restrict__ mean,
                                                          const float* __restrict__ rstd, float* __restrict__ dx,
                                                          int64_t rows, int64_t cols) {
  __shared__ double dsm[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    const float m = mean[r], rs = rstd[r];
    double sg = 0.0, sgx = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      const float g = dyr[c] * gamma[c];
      sg += g;
      sgx += static_cast<double>(g) * ((xr[c] - m) * rs);
    }
    const float a = static_cast<float>(block_reduce(sg, dsm, SumOp{}) / static_cast<double>(cols));
    const float b = static_cast<float>(block_reduce(sgx, dsm, SumOp{}) / static_cast<double>(cols));
    for (int64_t c = threadIdx.x; c < cols; c += kThreads)
      dx[r * cols + c] = rs * (dyr[c] * gamma[c] - a - (xr[c] - m) * rs * b);
  }
}

// partial[p][c] = sum of dy * xhat over the rows of chunk p, partial[parts + p][c] = sum of dy.
__global__ void __launch_bounds__(kThreads) ln_colsum_partial(const float* __restrict__ dy,
                                                             const float* __restrict__ x,
                                                             const float* __restrict__ mean,
                                                             const float* __restrict__ rstd, int64_t rows,
                                                             int64_t cols, int64_t parts,
                                                             double* __restrict__ partial) {
  const int64_t total = parts * cols;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = e % cols, p = e / cols;
    const int64_t r1 = (p + 1) * kRowChunk < rows ? (p + 1) * kRowChunk : rows;
    double sg = 0.0, sb = 0.0;
    for (int64_t r = p * kRowChunk; r < r1; ++r) {
      const float d = dy[r * cols + c];
      sg += static_cast<double>(d) * ((x[r * cols + c] - mean[r]) * rstd[r]);
      sb += d;
    }
    partial[e] = sg;
    partial[total + e] = sb;
  }
}

__global__ void __launch_bounds__(kThreads) ln_colsum_final(int64_t cols, int64_t parts,
                                                           const double* __restrict__ partial,
                                                           float* __restrict__ dgamma, float* __restrict__ dbeta) {
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double g = 0.0, b = 0.0;
    for (int64_t p = 0; p < parts; ++p) {
      g += partial[p * cols + c];
      b += partial[(parts + p) * cols + c];
    }
    dgamma[c] = static_cast<float>(g);
    dbeta[c] = static_cast<float>(b);
  }
}

}  // namespace

cudaError_t layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                               float* rstd, int64_t rows, int64_t cols, float eps, cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;  // cols == 0 still writes each row's mean (0) and rstd, as the CPU
  FORGENET_LAUNCH(ln_forward, row_blocks(rows), kThreads, stream, x, gamma, beta, y, mean, rstd, rows, cols, eps);
  return launch_status();
}

int64_t layer_norm_backward_workspace_floats(int64_t rows, int64_t cols) {
  return rows > 0 && cols > 0 ? 4 * partials(rows) * cols : 0;  // 2 x parts x cols doubles
}

cudaError_t layer_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean,
                                const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows,
                                int64_t cols, float* ws, int64_t ws_floats, cudaStream_t stream) {
  if (cols <= 0) return cudaSuccess;
  if (rows <= 0) {  // no rows: zero gradients for gamma and beta
    cudaError_t err = cudaMemsetAsync(dgamma, 0, static_cast<size_t>(cols) * sizeof(float), stream);
    if (err == cudaSuccess) err = cudaMemsetAsync(dbeta, 0, static_cast<size_t>(cols) * sizeof(float), stream);
    return err;
  }
  if (ws_floats < layer_norm_backward_workspace_floats(rows, cols) || reinterpret_cast<uintptr_t>(ws) % 8)
    return cudaErrorInvalidValue;
  FORGENET_LAUNCH(ln_backward_dx, row_blocks(rows), kThreads, stream, dy, x, gamma, mean, rstd, dx, rows, cols);
  cudaError_t err = launch_status();
  if (err != cudaSuccess) return err;
  const int64_t parts = partials(rows);
  double* partial = reinterpret_cast<double*>(ws);
  FORGENET_LAUNCH(ln_colsum_partial, blocks_for(parts * cols), kThreads, stream, dy, x, mean, rstd, rows, cols, parts,
                  partial);
  if ((err = launch_status()) != cudaSuccess) return err;
  FORGENET_LAUNCH(ln_colsum_final, blocks_for(cols), kThreads, stream, cols, parts, partial, dgamma, dbeta);
  return launch_status();
}

}  // namespace forgenet::gpu

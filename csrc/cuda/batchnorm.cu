// BatchNorm: one block per channel reduces its outer*inner elements in double (mean, then the centred
// sum of squares: two passes, as layernorm.cu, so |mean| >> std stays accurate; in the backward the
// sums of dy and dy * (x - mean)); fixed-order block reductions, so results are deterministic. The
// normalisation and dx are grid-stride elementwise kernels.
#include "cuda/batchnorm.h"
#include "cuda/common.cuh"

#include <math.h>

namespace forgenet::gpu {

namespace {

constexpr int64_t kMaxChannelBlocks = 1 << 16;

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

inline unsigned channel_blocks(int64_t c) { return static_cast<unsigned>(c < kMaxChannelBlocks ? c : kMaxChannelBlocks); }

// Element e of channel ch (e in [0, outer*inner)) sits at (o * C + ch) * inner + i.
__device__ inline int64_t at(int64_t e, int64_t ch, int64_t c, int64_t inner) {
  return ((e / inner) * c + ch) * inner + e % inner;
}

__global__ void __launch_bounds__(kThreads) bn_stats(const float* __restrict__ x, float* __restrict__ mean,
                                                    float* __restrict__ var, int64_t outer, int64_t c,
                                                    int64_t inner) {
  __shared__ double dsm[kThreads];
  const int64_t n = outer * inner;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {  // uniform per block: barriers stay safe
    double s = 0.0;
    for (int64_t e = threadIdx.x; e < n; e += kThreads) s += x[at(e, ch, c, inner)];
    s = block_reduce(s, dsm, SumOp{});
    const double m = n ? s / static_cast<double>(n) : 0.0;
    double q = 0.0;
    for (int64_t e = threadIdx.x; e < n; e += kThreads) {
      const double d = x[at(e, ch, c, inner)] - m;
      q += d * d;
    }
    q = block_reduce(q, dsm, SumOp{});
    if (threadIdx.x == 0) {
      mean[ch] = static_cast<float>(m);
      var[ch] = n ? static_cast<float>(q / static_cast<double>(n)) : 0.0f;
    }
  }
}

__global__ void __launch_bounds__(kThreads) bn_apply(const float* __restrict__ x, const float* __restrict__ gamma,
                                                    const float* __restrict__ beta, const float* __restrict__ mean,
                                                    const float* __restrict__ var, float* __restrict__ y,
                                                    int64_t total, int64_t c, int64_t inner, float eps) {
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = (e / inner) % c;
    const float a = gamma[ch] * (1.0f / sqrtf(var[ch] + eps));
    y[e] = (x[e] - mean[ch]) * a + beta[ch];
  }
}

__global__ void __launch_bounds__(kThreads) bn_grad_sums(const float* __restrict__ dy, const float* __restrict__ x,
                                                        const float* __restrict__ mean, const float* __restrict__ var,
                                                        float* __restrict__ dgamma, float* __restrict__ dbeta,
                                                        int64_t outer, int64_t c, int64_t inner, float eps) {
  __shared__ double dsm[kThreads];
  const int64_t n = outer * inner;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    const float m = mean[ch];
    double sd = 0.0, sdx = 0.0;
    for (int64_t e = threadIdx.x; e < n; e += kThreads) {
      const int64_t k = at(e, ch, c, inner);
      sd += dy[k];
      sdx += static_cast<double>(dy[k]) * (x[k] - m);
    }
    sd = block_reduce(sd, dsm, SumOp{});
    sdx = block_reduce(sdx, dsm, SumOp{});
    if (threadIdx.x == 0) {
      dbeta[ch] = static_cast<float>(sd);
      dgamma[ch] = static_cast<float>(sdx * (1.0f / sqrtf(var[ch] + eps)));
    }
  }
}

__global__ void __launch_bounds__(kThreads) bn_dx(const float* __restrict__ dy, const float* __restrict__ x,
                                                 const float* __restrict__ gamma, const float* __restrict__ mean,
                                                 const float* __restrict__ var, const float* __restrict__ dgamma,
                                                 const float* __restrict__ dbeta, float* __restrict__ dx,
                                                 int64_t total, int64_t c, int64_t inner, float eps, float inv_n,
                                                 bool training) {
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = (e / inner) % c;
    const float rs = 1.0f / sqrtf(var[ch] + eps), a = gamma[ch] * rs;
    if (training) {
      const float xh = (x[e] - mean[ch]) * rs;
      dx[e] = a * (dy[e] - dbeta[ch] * inv_n - xh * dgamma[ch] * inv_n);
    } else {
      dx[e] = a * dy[e];
    }
  }
}

}  // namespace

cudaError_t batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                     float* var, int64_t outer, int64_t c, int64_t inner, float eps,
                                     cudaStream_t stream) {
  if (c <= 0) return cudaSuccess;
  FORGENET_LAUNCH(bn_stats, channel_blocks(c), kThreads, stream, x, mean, var, outer, c, inner);
  cudaError_t err = launch_status();
  if (err != cudaSuccess) return err;
  return batch_norm_forward_infer(x, gamma, beta, mean, var, y, outer, c, inner, eps, stream);
}

cudaError_t batch_norm_forward_infer(const float* x, const float* gamma, const float* beta, const float* mean,
                                     const float* var, float* y, int64_t outer, int64_t c, int64_t inner, float eps,
                                     cudaStream_t stream) {
  const int64_t total = outer * c * inner;
  if (total <= 0) return cudaSuccess;
  FORGENET_LAUNCH(bn_apply, blocks_for(total), kThreads, stream, x, gamma, beta, mean, var, y, total, c, inner, eps);
  return launch_status();
}

cudaError_t batch_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean,
                                const float* var, float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t c,
                                int64_t inner, float eps, bool training, cudaStream_t stream) {
  if (c <= 0) return cudaSuccess;
  FORGENET_LAUNCH(bn_grad_sums, channel_blocks(c), kThreads, stream, dy, x, mean, var, dgamma, dbeta, outer, c, inner,
                  eps);
  cudaError_t err = launch_status();
  const int64_t total = outer * c * inner;
  if (err != cudaSuccess || total <= 0) return err;
  const float inv_n = 1.0f / static_cast<float>(outer * inner);
  FORGENET_LAUNCH(bn_dx, blocks_for(total), kThreads, stream, dy, x, gamma, mean, var, dgamma, dbeta, dx, total, c,
                  inner, eps, inv_n, training);
  return launch_status();
}

}  // namespace forgenet::gpu

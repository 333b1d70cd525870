// Depthwise convolution: the forward is one thread per output element (consecutive threads on
// consecutive channels, so x, kernel and y reads coalesce). The backward gathers instead of scattering:
// one thread per input element sums the outputs whose windows cover it (dx), and one block per kernel
// tap and channel reduces over all output positions in double (dkernel; dbias likewise per channel).
#include "cuda/common.cuh"
#include "cuda/depthwise_conv2d.h"

namespace forgenet::gpu {

namespace {

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

__global__ void __launch_bounds__(kThreads) dw_forward(DepthwiseGeom g, const float* __restrict__ x,
                                                      const float* __restrict__ k, const float* __restrict__ bias,
                                                      float* __restrict__ y, int64_t total) {
  const int64_t cm = g.c * g.m;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = e % cm, pix = e / cm, ow = pix % g.wo, oh = (pix / g.wo) % g.ho, n = pix / (g.wo * g.ho);
    const int64_t ch = j / g.m;
    float s = bias ? bias[j] : 0.0f;
    for (int64_t a = 0; a < g.kh; ++a) {
      const int64_t ih = oh * g.sh - g.pad_top + a * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      for (int64_t b = 0; b < g.kw; ++b) {
        const int64_t iw = ow * g.sw - g.pad_left + b * g.dw;
        if (iw < 0 || iw >= g.w) continue;
        s += x[((n * g.h + ih) * g.w + iw) * g.c + ch] * k[(a * g.kw + b) * cm + j];
      }
    }
    y[e] = s;
  }
}

__global__ void __launch_bounds__(kThreads) dw_dx(DepthwiseGeom g, const float* __restrict__ dy,
                                                 const float* __restrict__ k, float* __restrict__ dx, int64_t total) {
  const int64_t cm = g.c * g.m;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = e % g.c, pix = e / g.c, iw = pix % g.w, ih = (pix / g.w) % g.h, n = pix / (g.w * g.h);
    float s = 0.0f;
    for (int64_t a = 0; a < g.kh; ++a) {
      const int64_t th = ih + g.pad_top - a * g.dh;  // = oh * sh
      if (th < 0 || th % g.sh) continue;
      const int64_t oh = th / g.sh;
      if (oh >= g.ho) continue;
      for (int64_t b = 0; b < g.kw; ++b) {
        const int64_t tw = iw + g.pad_left - b * g.dw;
        if (tw < 0 || tw % g.sw) continue;
        const int64_t ow = tw / g.sw;
        if (ow >= g.wo) continue;
        const float* dp = dy + ((n * g.ho + oh) * g.wo + ow) * cm + ch * g.m;
        const float* kp = k + (a * g.kw + b) * cm + ch * g.m;
        for (int64_t m = 0; m < g.m; ++m) s += dp[m] * kp[m];
      }
    }
    dx[e] = s;
  }
}

// Block t < kh*kw*cm: dkernel[t]; block kh*kw*cm + j (when dbias): dbias[j].
__global__ void __launch_bounds__(kThreads) dw_dweights(DepthwiseGeom g, const float* __restrict__ dy,
                                                       const float* __restrict__ x, float* __restrict__ dk,
                                                       float* __restrict__ db, int64_t blocks) {
  __shared__ double dsm[kThreads];
  const int64_t cm = g.c * g.m, ksize = g.kh * g.kw * cm, positions = g.n * g.ho * g.wo;
  for (int64_t t = blockIdx.x; t < blocks; t += gridDim.x) {
    const bool is_bias = t >= ksize;
    const int64_t j = is_bias ? t - ksize : t % cm, tap = t / cm, a = tap / g.kw, b = tap % g.kw, ch = j / g.m;
    double s = 0.0;
    for (int64_t p = threadIdx.x; p < positions; p += kThreads) {
      const float d = dy[p * cm + j];
      if (is_bias) {
        s += d;
        continue;
      }
      const int64_t ow = p % g.wo, oh = (p / g.wo) % g.ho, n = p / (g.wo * g.ho);
      const int64_t ih = oh * g.sh - g.pad_top + a * g.dh, iw = ow * g.sw - g.pad_left + b * g.dw;
      if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w)
        s += static_cast<double>(d) * x[((n * g.h + ih) * g.w + iw) * g.c + ch];
    }
    s = block_reduce(s, dsm, SumOp{});
    if (threadIdx.x == 0) (is_bias ? db[j] : dk[t]) = static_cast<float>(s);
  }
}

}  // namespace

cudaError_t depthwise_conv2d_forward(const DepthwiseGeom& g, const float* x, const float* kernel, const float* bias,
                                     float* y, cudaStream_t stream) {
  const int64_t total = g.n * g.ho * g.wo * g.c * g.m;
  if (total <= 0) return cudaSuccess;
  FORGENET_LAUNCH(dw_forward, blocks_for(total), kThreads, stream, g, x, kernel, bias, y, total);
  return launch_status();
}

cudaError_t depthwise_conv2d_backward(const DepthwiseGeom& g, const float* dy, const float* x, const float* kernel,
                                      float* dx, float* dkernel, float* dbias, cudaStream_t stream) {
  const int64_t nx = g.n * g.h * g.w * g.c;
  if (dx && nx > 0) {
    FORGENET_LAUNCH(dw_dx, blocks_for(nx), kThreads, stream, g, dy, kernel, dx, nx);
    const cudaError_t err = launch_status();
    if (err != cudaSuccess) return err;
  }
  const int64_t cm = g.c * g.m, blocks = g.kh * g.kw * cm + (dbias ? cm : 0);
  if (blocks <= 0) return cudaSuccess;
  const unsigned grid = static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
  FORGENET_LAUNCH(dw_dweights, grid, kThreads, stream, g, dy, x, dkernel, dbias, blocks);
  return launch_status();
}

}  // namespace forgenet::gpu

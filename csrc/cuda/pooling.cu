// Pooling: one thread per output element (n, oh, ow, c) forward, one per input element backward.
// Channels are the fastest index, so neighbouring threads touch neighbouring floats. The backward
// passes gather (each dx element sums the windows that cover it) rather than scatter, so they need
// neither atomics nor a zeroed dx, and are deterministic; max backward recomputes each covering
// window's argmax instead of storing it.
#include "cuda/common.cuh"
#include "cuda/pooling.h"

namespace forgenet::gpu {

namespace {

// The real (unpadded) part [lo, hi) of the window of output o along one axis, as offsets from `start`.
struct Span {
  int64_t start, lo, hi;
};

__device__ inline Span span(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size) {
  const int64_t start = o * stride - pad;
  return {start, start < 0 ? -start : 0, k < size - start ? k : size - start};
}

// v replaces the running max m when larger, or when it is the first NaN (NaN then sticks).
__device__ inline bool takes_over(float v, float m) { return v > m || (v != v && m == m); }

// Pixel index (h * W + w) of the max of window (oh, ow) in channel c of image xn.
__device__ inline int64_t argmax_in(const Window& g, const float* xn, int64_t oh, int64_t ow, int64_t c,
                                    float* best) {
  const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h), q = span(ow, g.sw, g.pad_left, g.kw, g.w);
  int64_t at = (r.start + r.lo) * g.w + q.start + q.lo;
  float m = xn[at * g.c + c];
  for (int64_t kh = r.lo; kh < r.hi; ++kh)
    for (int64_t kw = q.lo; kw < q.hi; ++kw) {
      const int64_t p = (r.start + kh) * g.w + q.start + kw;
      const float v = xn[p * g.c + c];
      if (takes_over(v, m)) {
        m = v;
        at = p;
      }
    }
  *best = m;
  return at;
}

__global__ void __launch_bounds__(kThreads) max_forward(Window g, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = g.n * g.ho * g.wo * g.c;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = e % g.c, ow = e / g.c % g.wo, oh = e / (g.c * g.wo) % g.ho, n = e / (g.c * g.wo * g.ho);
    float m;
    argmax_in(g, x + n * g.h * g.w * g.c, oh, ow, c, &m);
    y[e] = m;
  }
}

__global__ void __launch_bounds__(kThreads) avg_forward(Window g, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = g.n * g.ho * g.wo * g.c;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = e % g.c, ow = e / g.c % g.wo, oh = e / (g.c * g.wo) % g.ho, n = e / (g.c * g.wo * g.ho);
    const float* xn = x + n * g.h * g.w * g.c;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h), q = span(ow, g.sw, g.pad_left, g.kw, g.w);
    float s = 0.0f;
    for (int64_t kh = r.lo; kh < r.hi; ++kh)
      for (int64_t kw = q.lo; kw < q.hi; ++kw) s += xn[((r.start + kh) * g.w + q.start + kw) * g.c + c];
    y[e] = s * (1.0f / static_cast<float>((r.hi - r.lo) * (q.hi - q.lo)));
  }
}

// Outputs [*lo, *hi] along one axis whose windows can contain input index i (checked again by callers).
__device__ inline void covering(int64_t i, int64_t stride, int64_t pad, int64_t k, int64_t out, int64_t* lo,
                                int64_t* hi) {
  const int64_t first = i + pad - k + 1;  // o * stride >= first
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t last = (i + pad) / stride;  // o * stride <= i + pad
  *hi = last < out - 1 ? last : out - 1;
}

template <bool kMax>
__global__ void __launch_bounds__(kThreads) pool_backward(Window g, const float* __restrict__ dy,
                                                          const float* __restrict__ x, float* __restrict__ dx) {
  const int64_t total = g.n * g.h * g.w * g.c;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = e % g.c, iw = e / g.c % g.w, ih = e / (g.c * g.w) % g.h, n = e / (g.c * g.w * g.h);
    int64_t oh0, oh1, ow0, ow1;
    covering(ih, g.sh, g.pad_top, g.kh, g.ho, &oh0, &oh1);
    covering(iw, g.sw, g.pad_left, g.kw, g.wo, &ow0, &ow1);
    const float* dyn = dy + n * g.ho * g.wo * g.c;
    float s = 0.0f;
    for (int64_t oh = oh0; oh <= oh1; ++oh) {
      const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
      if (ih < r.start + r.lo || ih >= r.start + r.hi) continue;
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
        if (iw < q.start + q.lo || iw >= q.start + q.hi) continue;
        const float d = dyn[(oh * g.wo + ow) * g.c + c];
        if (kMax) {
          float m;
          if (argmax_in(g, x + n * g.h * g.w * g.c, oh, ow, c, &m) == ih * g.w + iw) s += d;
        } else {
          s += d * (1.0f / static_cast<float>((r.hi - r.lo) * (q.hi - q.lo)));
        }
      }
    }
    dx[e] = s;
  }
}

}  // namespace

cudaError_t max_pool2d_forward(const Window& g, const float* x, float* y, cudaStream_t stream) {
  const int64_t total = g.n * g.ho * g.wo * g.c;
  if (total <= 0) return cudaSuccess;
  FORGENET_LAUNCH(max_forward, blocks_for(total), kThreads, stream, g, x, y);
  return launch_status();
}

cudaError_t avg_pool2d_forward(const Window& g, const float* x, float* y, cudaStream_t stream) {
  const int64_t total = g.n * g.ho * g.wo * g.c;
  if (total <= 0) return cudaSuccess;
  FORGENET_LAUNCH(avg_forward, blocks_for(total), kThreads, stream, g, x, y);
  return launch_status();
}

cudaError_t max_pool2d_backward(const Window& g, const float* dy, const float* x, float* dx, cudaStream_t stream) {
  const int64_t total = g.n * g.h * g.w * g.c;
  if (total <= 0) return cudaSuccess;
  auto* kernel = &pool_backward<true>;
  FORGENET_LAUNCH(kernel, blocks_for(total), kThreads, stream, g, dy, x, dx);
  return launch_status();
}

cudaError_t avg_pool2d_backward(const Window& g, const float* dy, float* dx, cudaStream_t stream) {
  const int64_t total = g.n * g.h * g.w * g.c;
  if (total <= 0) return cudaSuccess;
  auto* kernel = &pool_backward<false>;
  FORGENET_LAUNCH(kernel, blocks_for(total), kThreads, stream, g, dy, static_cast<const float*>(nullptr), dx);
  return launch_status();
}

}  // namespace forgenet::gpu

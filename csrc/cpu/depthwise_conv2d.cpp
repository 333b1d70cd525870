// Depthwise convolution: direct loops, channels innermost. Each tap of each output pixel is one
// multiply-add over a contiguous run of C*M channels (x's run of C broadcast over M when M > 1), the
// loop compiled twice: generic and as a target("avx2") clone chosen at run time, as the optimizer does.
//
// Forward threads split output rows (n, oh). The backward scatters into dx, so threads split the batch
// (each owns its images' dx) and keep private dkernel/dbias partials, added in thread order afterwards:
// deterministic for a given thread count, no atomics.
#include "cpu/depthwise_conv2d.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_features.h"

namespace forgenet {

namespace {

constexpr int64_t kParallelMin = 16384;  // output elements below which one thread is faster

// Valid tap range [a0, a1) for output position o: in = o * s - pad + a * d must lie in [0, size).
inline void tap_range(int64_t o, int64_t s, int64_t pad, int64_t d, int64_t k, int64_t size, int64_t& a0,
                      int64_t& a1) {
  const int64_t base = o * s - pad;
  a0 = base >= 0 ? 0 : (-base + d - 1) / d;
  a1 = size - base > 0 ? std::min<int64_t>(k, (size - base - 1) / d + 1) : 0;
  if (a1 < a0) a1 = a0;
}

struct Forward {
  static inline void row(const DepthwiseGeom& g, const float* __restrict x, const float* __restrict k,
                         const float* __restrict bias, float* __restrict y, int64_t n, int64_t oh) {
    const int64_t cm = g.c * g.m;
    int64_t a0, a1;
    tap_range(oh, g.sh, g.pad_top, g.dh, g.kh, g.h, a0, a1);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      float* __restrict yp = y + ((n * g.ho + oh) * g.wo + ow) * cm;
      if (bias)
        for (int64_t j = 0; j < cm; ++j) yp[j] = bias[j];
      else
        for (int64_t j = 0; j < cm; ++j) yp[j] = 0.0f;
      int64_t b0, b1;
      tap_range(ow, g.sw, g.pad_left, g.dw, g.kw, g.w, b0, b1);
      for (int64_t a = a0; a < a1; ++a) {
        const int64_t ih = oh * g.sh - g.pad_top + a * g.dh;
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t iw = ow * g.sw - g.pad_left + b * g.dw;
          const float* __restrict xp = x + ((n * g.h + ih) * g.w + iw) * g.c;
          const float* __restrict kp = k + (a * g.kw + b) * cm;
          if (g.m == 1) {
            for (int64_t j = 0; j < cm; ++j) yp[j] += xp[j] * kp[j];
          } else {
            for (int64_t c = 0; c < g.c; ++c)
              for (int64_t m = 0; m < g.m; ++m) yp[c * g.m + m] += xp[c] * kp[c * g.m + m];
          }
        }
      }
    }
  }
};

// One image's backward: dx (if asked) is this image's slice; dk and db are the thread's partials.
struct Backward {
  static inline void image(const DepthwiseGeom& g, const float* __restrict dy, const float* __restrict x,
                           const float* __restrict k, float* __restrict dx, float* __restrict dk,
                           float* __restrict db, int64_t n) {
    const int64_t cm = g.c * g.m;
    for (int64_t oh = 0; oh < g.ho; ++oh) {
      int64_t a0, a1;
      tap_range(oh, g.sh, g.pad_top, g.dh, g.kh, g.h, a0, a1);
      for (int64_t ow = 0; ow < g.wo; ++ow) {
        const float* __restrict dp = dy + ((n * g.ho + oh) * g.wo + ow) * cm;
        if (db)
          for (int64_t j = 0; j < cm; ++j) db[j] += dp[j];
        int64_t b0, b1;
        tap_range(ow, g.sw, g.pad_left, g.dw, g.kw, g.w, b0, b1);
        for (int64_t a = a0; a < a1; ++a) {
          const int64_t ih = oh * g.sh - g.pad_top + a * g.dh;
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t iw = ow * g.sw - g.pad_left + b * g.dw;
            const int64_t xo = ((n * g.h + ih) * g.w + iw) * g.c;
            const float* __restrict xp = x + xo;
            const float* __restrict kp = k + (a * g.kw + b) * cm;
            float* __restrict dkp = dk + (a * g.kw + b) * cm;
            if (g.m == 1) {
              for (int64_t j = 0; j < cm; ++j) dkp[j] += xp[j] * dp[j];
              if (dx) {
                float* __restrict dxp = dx + xo;
                for (int64_t j = 0; j < cm; ++j) dxp[j] += kp[j] * dp[j];
              }
            } else {
              for (int64_t c = 0; c < g.c; ++c) {
                float s = 0.0f;
                for (int64_t m = 0; m < g.m; ++m) {
                  dkp[c * g.m + m] += xp[c] * dp[c * g.m + m];
                  s += kp[c * g.m + m] * dp[c * g.m + m];
                }
                if (dx) dx[xo + c] += s;
              }
            }
          }
        }
      }
    }
  }
};

using RowFn = void (*)(const DepthwiseGeom&, const float*, const float*, const float*, float*, int64_t, int64_t);
using ImageFn = void (*)(const DepthwiseGeom&, const float*, const float*, const float*, float*, float*, float*,
                         int64_t);

void row_generic(const DepthwiseGeom& g, const float* x, const float* k, const float* b, float* y, int64_t n,
                 int64_t oh) {
  Forward::row(g, x, k, b, y, n, oh);
}
void image_generic(const DepthwiseGeom& g, const float* dy, const float* x, const float* k, float* dx, float* dk,
                   float* db, int64_t n) {
  Backward::image(g, dy, x, k, dx, dk, db, n);
}
#ifdef FORGENET_X86
__attribute__((target("avx2,fma"))) void row_avx2(const DepthwiseGeom& g, const float* x, const float* k,
                                                  const float* b, float* y, int64_t n, int64_t oh) {
  Forward::row(g, x, k, b, y, n, oh);
}
__attribute__((target("avx2,fma"))) void image_avx2(const DepthwiseGeom& g, const float* dy, const float* x,
                                                    const float* k, float* dx, float* dk, float* db, int64_t n) {
  Backward::image(g, dy, x, k, dx, dk, db, n);
}
#endif

bool use_avx2() {
#ifdef FORGENET_X86
  static const bool avx2 = best_isa() >= Isa::avx2;
  return avx2;
#else
  return false;
#endif
}

}  // namespace

void depthwise_conv2d_forward(const DepthwiseGeom& g, const float* x, const float* kernel, const float* bias,
                              float* y) {
  RowFn f = row_generic;
#ifdef FORGENET_X86
  if (use_avx2()) f = row_avx2;
#endif
  const int64_t rows = g.n * g.ho;
  const bool par = rows * g.wo * g.c * g.m >= kParallelMin;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < rows; ++r) f(g, x, kernel, bias, y, r / g.ho, r % g.ho);
}

void depthwise_conv2d_backward(const DepthwiseGeom& g, const float* dy, const float* x, const float* kernel,
                               float* dx, float* dkernel, float* dbias) {
  ImageFn f = image_generic;
#ifdef FORGENET_X86
  if (use_avx2()) f = image_avx2;
#endif
  const int64_t cm = g.c * g.m, ksize = g.kh * g.kw * cm;
  if (dx) std::memset(dx, 0, sizeof(float) * static_cast<size_t>(g.n * g.h * g.w * g.c));
  const bool par = g.n > 1 && g.n * g.ho * g.wo * cm >= kParallelMin;
  const int threads = par ? static_cast<int>(std::min<int64_t>(omp_get_max_threads(), g.n)) : 1;
  const int64_t stride = ksize + (dbias ? cm : 0);
  std::vector<float> part(static_cast<size_t>(threads) * stride, 0.0f);
  int used = 1;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
    used = nt;
    float* dk = part.data() + static_cast<size_t>(t) * stride;
    float* db = dbias ? dk + ksize : nullptr;
    for (int64_t n = g.n * t / nt; n < g.n * (t + 1) / nt; ++n) f(g, dy, x, kernel, dx, dk, db, n);
  }
  for (int64_t j = 0; j < stride; ++j) {
    float s = 0.0f;
    for (int t = 0; t < used; ++t) s += part[static_cast<size_t>(t) * stride + j];
    if (j < ksize)
      dkernel[j] = s;
    else
      dbias[j - ksize] = s;
  }
}

}  // namespace forgenet

// Depthwise convolution's per-ISA leaf loops (generic, avx2): each tap of each output pixel is one
// multiply-add over a contiguous run of C*M channels (x's run of C broadcast over M when M > 1), a
// plain loop the compiler widens to the ISA at hand. Threads and partials are depthwise_conv2d.cpp's.
#include "cpu/isa/depthwise_conv2d_kernels.h"


namespace forgenet::FORGENET_ISA_NS {

namespace {

// Valid tap range [a0, a1) for output position o: in = o * s - pad + a * d must lie in [0, size).
void tap_range(int64_t o, int64_t s, int64_t pad, int64_t d, int64_t k, int64_t size, int64_t& a0,
                    int64_t& a1) {
  const int64_t base = o * s - pad;
  a0 = base >= 0 ? 0 : (-base + d - 1) / d;
  a1 = size - base > 0 ? ((size - base - 1) / d + 1 < k ? (size - base - 1) / d + 1 : k) : 0;
  if (a1 < a0) a1 = a0;
}

}  // namespace

void dw_forward_row(const DepthwiseGeom& g, const float* __restrict x, const float* __restrict k,
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

void dw_backward_image(const DepthwiseGeom& g, const float* __restrict dy, const float* __restrict x,
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


}  // namespace forgenet::FORGENET_ISA_NS

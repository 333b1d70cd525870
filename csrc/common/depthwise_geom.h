// The depthwise convolution's geometry, shared by the CPU and CUDA kernels.
#pragma once
#include <cstdint>

#include "common/window2d.h"

namespace forgenet {

// Depthwise 2-D convolution on NHWC, Keras's DepthwiseConv2D: x (N, H, W, C), kernel (KH, KW, C, M)
// (M = depth_multiplier), bias (C*M,) or null, y (N, Ho, Wo, C*M) with output channel c*M + m the
// cross-correlation of input channel c with kernel[:, :, c, m]. Dilation d spreads the taps: the window
// covers (K - 1) * d + 1 input positions.
struct DepthwiseGeom {
  int64_t n, h, w, c, m;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t ho, wo, pad_top, pad_left;
};

// The output size and padding are window2d.h's rule on the effective window (eh, ew) = ((KH - 1) * DH + 1,
// (KW - 1) * DW + 1), which the caller has checked fits int64.
inline DepthwiseGeom depthwise_geom(const Window2d& win, int64_t m, int64_t kh, int64_t kw, int64_t dh, int64_t dw) {
  return {win.n, win.h, win.w, win.c, m, kh, kw, win.sh, win.sw, dh, dw, win.ho, win.wo, win.pad_top, win.pad_left};
}

inline DepthwiseGeom make_depthwise_geom(int64_t n, int64_t h, int64_t w, int64_t c, int64_t m, int64_t kh,
                                         int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, bool same) {
  return depthwise_geom(make_window2d(n, h, w, c, (kh - 1) * dh + 1, (kw - 1) * dw + 1, sh, sw, same), m, kh, kw, dh, dw);
}

}  // namespace forgenet

// The depthwise convolution's geometry, shared by the CPU and CUDA kernels.
#pragma once
#include <algorithm>
#include <cstdint>

namespace forgenet {

// Depthwise 2-D convolution on NHWC, Keras's DepthwiseConv2D: x (N, H, W, C), kernel (KH, KW, C, M)
// (M = depth_multiplier), bias (C*M,) or null, y (N, Ho, Wo, C*M) with output channel c*M + m the
// cross-correlation of input channel c with kernel[:, :, c, m]. Dilation d spreads the taps: the window
// covers (K - 1) * d + 1 input positions. Padding as window2d.h with that effective window size.
struct DepthwiseGeom {
  int64_t n, h, w, c, m;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t ho, wo, pad_top, pad_left;
};

inline DepthwiseGeom make_depthwise_geom(int64_t n, int64_t h, int64_t w, int64_t c, int64_t m, int64_t kh,
                                         int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, bool same) {
  DepthwiseGeom g{n, h, w, c, m, kh, kw, sh, sw, dh, dw, 0, 0, 0, 0};
  const int64_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
  if (same) {
    g.ho = (h + sh - 1) / sh;
    g.wo = (w + sw - 1) / sw;
    g.pad_top = std::max<int64_t>((g.ho - 1) * sh + eh - h, 0) / 2;
    g.pad_left = std::max<int64_t>((g.wo - 1) * sw + ew - w, 0) / 2;
  } else {
    g.ho = h >= eh ? (h - eh) / sh + 1 : 0;
    g.wo = w >= ew ? (w - ew) / sw + 1 : 0;
  }
  return g;
}

}  // namespace forgenet

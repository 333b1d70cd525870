// Geometry of a 2-D sliding window over an NHWC tensor (conv2d, pooling), the same rules as the CPU
// kernels: 'valid' Ho = (H - KH) / SH + 1; 'same' (TensorFlow) Ho = ceil(H / SH) with total padding
// max((Ho - 1) * SH + KH - H, 0), the odd element at the bottom/right (pad_top = total / 2).
#pragma once
#include <cstdint>

namespace forgenet::gpu {

struct Window {
  int64_t n, h, w, c;  // input (N, H, W, C)
  int64_t kh, kw;      // window
  int64_t sh, sw;      // strides
  int64_t ho, wo;      // output spatial size
  int64_t pad_top, pad_left;
};

inline Window make_window(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                          int64_t sw, bool same) {
  Window g{n, h, w, c, kh, kw, sh, sw, 0, 0, 0, 0};
  if (same) {
    g.ho = (h + sh - 1) / sh;
    g.wo = (w + sw - 1) / sw;
    const int64_t ph = (g.ho - 1) * sh + kh - h, pw = (g.wo - 1) * sw + kw - w;
    g.pad_top = ph > 0 ? ph / 2 : 0;
    g.pad_left = pw > 0 ? pw / 2 : 0;
  } else {
    g.ho = h >= kh ? (h - kh) / sh + 1 : 0;
    g.wo = w >= kw ? (w - kw) / sw + 1 : 0;
  }
  return g;
}

}  // namespace forgenet::gpu

// Geometry of a 2-D sliding window over an NHWC tensor, shared by conv2d and pooling.
// 'valid': Ho = (H - KH) / SH + 1, no padding (callers reject KH > H first).
// 'same' (TensorFlow's rule): Ho = ceil(H / SH), total pad = max((Ho - 1) * SH + KH - H, 0), the odd
// element going to the bottom/right, so pad_top = total / 2.
#pragma once
#include <algorithm>
#include <cstdint>

namespace forgenet {

struct Window2d {
  int64_t n, h, w, c;     // input (N, H, W, C)
  int64_t kh, kw;         // window
  int64_t sh, sw;         // strides
  int64_t ho, wo;         // output spatial size
  int64_t pad_top, pad_left;
};

inline Window2d make_window2d(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                              int64_t sh, int64_t sw, bool same) {
  Window2d g{n, h, w, c, kh, kw, sh, sw, 0, 0, 0, 0};
  if (same) {
    g.ho = (h + sh - 1) / sh;
    g.wo = (w + sw - 1) / sw;
    g.pad_top = std::max<int64_t>((g.ho - 1) * sh + kh - h, 0) / 2;
    g.pad_left = std::max<int64_t>((g.wo - 1) * sw + kw - w, 0) / 2;
  } else {
    g.ho = h >= kh ? (h - kh) / sh + 1 : 0;
    g.wo = w >= kw ? (w - kw) / sw + 1 : 0;
  }
  return g;
}

}  // namespace forgenet

// Geometry of a 2-D sliding window over an NHWC tensor, shared by conv2d and pooling on both devices:
// the one place the output-size rule lives.
// 'valid': Ho = (H - KH) / SH + 1, no padding (the contract rejects KH > H first).
// 'same' (TensorFlow's rule): Ho = ceil(H / SH), total pad = max((Ho - 1) * SH + KH - H, 0), the odd
// element going to the bottom/right, so pad_top = total / 2.
// Every step is arranged so that it cannot overflow for any H, KH, SH in [0, 2^63) (KH, SH >= 1):
// ceil without H + SH - 1, and the padding as KH - (H - (Ho - 1) * SH) with the bracket in [1, SH].
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define FORGENET_WINDOW_HD __host__ __device__
#else
#define FORGENET_WINDOW_HD
#endif

namespace forgenet {

struct Window2d {
  int64_t n, h, w, c;     // input (N, H, W, C)
  int64_t kh, kw;         // window
  int64_t sh, sw;         // strides
  int64_t ho, wo;         // output spatial size
  int64_t pad_top, pad_left;
};

namespace window_detail {
FORGENET_WINDOW_HD inline void axis(int64_t size, int64_t k, int64_t s, bool same, int64_t& out, int64_t& pad) {
  pad = 0;
  if (same) {
    out = size / s + (size % s != 0);
    if (out > 0) {
      const int64_t covered = size - (out - 1) * s;  // in [1, s]
      pad = k > covered ? (k - covered) / 2 : 0;
    }
  } else {
    out = size >= k ? (size - k) / s + 1 : 0;
  }
}
}  // namespace window_detail

FORGENET_WINDOW_HD inline Window2d make_window2d(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh,
                                                 int64_t kw, int64_t sh, int64_t sw, bool same) {
  Window2d g{n, h, w, c, kh, kw, sh, sw, 0, 0, 0, 0};
  window_detail::axis(h, kh, sh, same, g.ho, g.pad_top);
  window_detail::axis(w, kw, sw, same, g.wo, g.pad_left);
  return g;
}

}  // namespace forgenet

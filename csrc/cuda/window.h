// The sliding-window geometry of conv2d and pooling on the GPU: common/window2d.h, the one rule both
// devices use.
#pragma once
#include "common/window2d.h"

namespace forgenet::gpu {

using Window = forgenet::Window2d;

inline Window make_window(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                          int64_t sw, bool same) {
  return make_window2d(n, h, w, c, kh, kw, sh, sw, same);
}

}  // namespace forgenet::gpu

// The input of a convolution as its engines read it (the implicit GEMM of conv2d.cpp and the direct
// kernels of conv_direct.cpp): x itself when every window lies inside, else a zero-padded copy of a
// chunk of whole images (pad_top rows and pad_left columns before, as many after as the last window
// reaches), after which no kernel needs a bounds test.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/window2d.h"
#include "cpu/parallel.h"

namespace forgenet::conv {
namespace {  // internal linkage, as parallel.h

constexpr int64_t kColumnBudget = 32ll << 20;  // bytes of padded-input or column buffers per call

// data: images of h rows and w columns (g.c channels each).
struct Source {
  const float* data;
  int64_t h, w;
};

inline int64_t reach_h(const Window2d& g) { return (g.ho - 1) * g.sh + g.kh; }
inline int64_t reach_w(const Window2d& g) { return (g.wo - 1) * g.sw + g.kw; }
inline bool needs_padding(const Window2d& g) {
  return g.pad_top > 0 || g.pad_left > 0 || reach_h(g) > g.h || reach_w(g) > g.w;
}

// Images per chunk: all of them unless a padded copy is needed, then as many as fit the budget.
inline int64_t images_per_chunk(const Window2d& g) {
  if (!needs_padding(g)) return std::max<int64_t>(g.n, 1);
  return std::max<int64_t>(1, kColumnBudget / std::max<int64_t>(reach_h(g) * reach_w(g) * g.c * 4, 1));
}

// Floats of the padded copy of one chunk (0 when x is read in place): the caller's scratch.
inline int64_t source_floats(const Window2d& g) {
  if (!needs_padding(g)) return 0;
  return std::min(images_per_chunk(g), g.n) * reach_h(g) * reach_w(g) * g.c;
}

// Images [n0, n0 + count) of x, copied into buf (source_floats(g) floats) when they need padding.
inline Source source(const Window2d& g, const float* x, int64_t n0, int64_t count, float* buf) {
  const int64_t C = g.c;
  if (!needs_padding(g)) return {x + n0 * g.h * g.w * C, g.h, g.w};
  const int64_t hp = reach_h(g), wp = reach_w(g);
  const int64_t cols = std::max<int64_t>(0, std::min(g.w, wp - g.pad_left));  // x columns that land inside
  parallel_for(0, count * hp, grain_for(wp * C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = n0 + r / hp, ih = r % hp - g.pad_top;
      float* d = buf + r * wp * C;
      if (ih < 0 || ih >= g.h) {
        std::fill(d, d + wp * C, 0.0f);
        continue;
      }
      std::fill(d, d + g.pad_left * C, 0.0f);
      std::memcpy(d + g.pad_left * C, x + ((n * g.h + ih) * g.w) * C, cols * C * sizeof(float));
      std::fill(d + (g.pad_left + cols) * C, d + wp * C, 0.0f);
    }
  });
  return {buf, hp, wp};
}

}  // namespace
}  // namespace forgenet::conv

// The pooling kernels' per-ISA leaf loops (isa/pooling_kernels.cpp, built generic and avx2) and the
// window geometry they share with pooling.cpp, which owns the threads: each leaf runs output lines
// [t0, t1) of one phase (Lines), line t being image t / per_image, output row phase + (t % per_image) *
// phases.
#pragma once
#include <cstdint>

#include "common/window2d.h"
#include "cpu/dispatch.h"

namespace forgenet::pool {
namespace {

// The window of output index o along one axis: it starts at `start` (negative inside the padding)
// and its real elements are offsets [lo, hi).
struct Span {
  int64_t start, lo, hi;
};

inline Span span(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size) {
  const int64_t start = o * stride - pad;
  return {start, start < 0 ? -start : 0, k < size - start ? k : size - start};
}

inline void fill_zero(float* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = 0.0f;
}

inline bool owns_rows(const Window2d& g) { return g.sh >= g.kh; }
inline bool disjoint(const Window2d& g) { return g.sh >= g.kh && g.sw >= g.kw; }

}  // namespace

struct Lines {
  int64_t phase, phases, per_image;
};

}  // namespace forgenet::pool

FORGENET_ISA_DECLARE(
    void max_pool_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* x, float* y);
    void max_pool_backward_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* dy,
                                 const float* x, float* dx);
    void avg_pool_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* x, float* y);
    void avg_pool_backward_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* dy,
                                 float* dx))

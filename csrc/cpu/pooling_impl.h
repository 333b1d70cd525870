// Pooling kernels, written once as plain loops and compiled three times: by pooling.cpp (any x86-64),
// pooling_avx2.cpp and pooling_avx512.cpp (with those instruction sets), each inside its own namespace
// FORGENET_POOL_NS; pooling.cpp picks one at run time (cpu_features.h). Channels are innermost and
// contiguous in NHWC, so every inner loop is a plain vector loop over C that the compiler widens to
// the instruction set at hand. No std:: templates here: an out-of-line copy compiled with AVX-512 could
// otherwise be shared with the generic file by the linker (max_backward_t is instantiated inside the
// per-ISA namespace, so each copy stays its own).
//
// Threads take output lines (n, oh). How backward passes fill dx without races or atomics:
//  - windows overlap nowhere (SH >= KH and SW >= KW, e.g. the usual 2x2 stride-2 pool): each input pixel
//    lies in at most one window, so a line writes its windows' pixels outright (no zeroing, no adds) and
//    zeroes only the pixels of its rows that no window covers;
//  - windows overlap sideways only (SH >= KH): a line still owns its input rows; it zeroes them while
//    they are hot in cache, then adds;
//  - otherwise dx is zeroed up front and lines add, in phases: lines whose windows share input rows
//    (oh mod ceil(KH / SH)) never run at the same time.
// Rows that no window touches at all are zeroed up front in every case.
#ifndef FORGENET_POOL_NS
#error "define FORGENET_POOL_NS before including pooling_impl.h"
#endif

#include <cstdint>

#include "common/checked.h"
#include "common/window2d.h"

namespace forgenet::FORGENET_POOL_NS {

constexpr int64_t kParallelMin = 32768;  // floats of work below which threads cost more than they save
constexpr int64_t kChannelBlock = 256;   // channels whose running max/argmax live on the stack at once

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

// Calls f(n, oh) for every output line, in parallel. With `exclusive`, lines whose windows share input
// rows are put in different phases, so f may accumulate into those rows.
template <typename F>
void for_lines(const Window2d& g, bool exclusive, F&& f) {
  const int64_t phases = exclusive && g.sh < g.kh ? (g.kh + g.sh - 1) / g.sh : 1;
  // real window elements only (a 'same' window may be far larger than the input), saturating
  const int64_t work = mul_sat(mul_sat(g.wo, g.kh < g.h ? g.kh : g.h), mul_sat(g.kw < g.w ? g.kw : g.w, g.c));
  for (int64_t ph = 0; ph < phases; ++ph) {
    const int64_t per_image = (g.ho - ph + phases - 1) / phases;
    const int64_t tasks = g.n * per_image;
#pragma omp parallel for schedule(static) if (mul_sat(tasks, work) > kParallelMin)
    for (int64_t t = 0; t < tasks; ++t) f(t / per_image, ph + (t % per_image) * phases);
  }
}

inline bool owns_rows(const Window2d& g) { return g.sh >= g.kh; }
inline bool disjoint(const Window2d& g) { return g.sh >= g.kh && g.sw >= g.kw; }

inline void zero_for_backward(const Window2d& g, float* dx) {
  const int64_t row = g.w * g.c, rows = g.n * g.h;
  const bool all = !owns_rows(g);
#pragma omp parallel for schedule(static) if (rows * row > kParallelMin)
  for (int64_t t = 0; t < rows; ++t) {
    const int64_t s = t % g.h + g.pad_top;  // an input row ih is touched by output row s / SH
    if (all || s / g.sh >= g.ho || s % g.sh >= g.kh) fill_zero(dx + t * row, row);
  }
}

// Before a line writes its windows: zero whatever of its own rows the windows will not overwrite.
inline void prepare_own_rows(const Window2d& g, const Span& r, float* dxn) {
  if (!owns_rows(g)) return;
  const int64_t C = g.c;
  for (int64_t ih = r.start + r.lo; ih < r.start + r.hi; ++ih) {
    float* row = dxn + ih * g.w * C;
    if (!disjoint(g)) {
      fill_zero(row, g.w * C);
      continue;
    }
    for (int64_t iw = 0; iw < g.w; ++iw) {
      const int64_t s = iw + g.pad_left;  // column iw is covered by output column s / SW
      if (s / g.sw >= g.wo || s % g.sw >= g.kw) fill_zero(row + iw * C, C);
    }
  }
}

// v replaces the running max m when larger, or when it is the first NaN (NaN then sticks). Bitwise
// operators, not && / ||, keep it a branch-free select the compiler vectorises.
inline bool takes_over(float v, float m) { return (v > m) | ((v != v) & (m == m)); }

inline void max_forward(const Window2d& g, const float* x, float* y) {
  const int64_t C = g.c;
  for_lines(g, false, [&](int64_t n, int64_t oh) {
    const float* xn = x + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      float* out = y + ((n * g.ho + oh) * g.wo + ow) * C;
      const float* first = xn + ((r.start + r.lo) * g.w + q.start + q.lo) * C;
      for (int64_t c = 0; c < C; ++c) out[c] = first[c];
      for (int64_t kh = r.lo; kh < r.hi; ++kh)
        for (int64_t kw = q.lo; kw < q.hi; ++kw) {
          const float* src = xn + ((r.start + kh) * g.w + q.start + kw) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) out[c] = takes_over(src[c], out[c]) ? src[c] : out[c];
        }
    }
  });
}

// The gradient of each window goes to its first maximum in row-major (kh, kw) order; the argmax is kept
// as a pixel offset from the window's first real pixel ((kh - lo) * W + (kw - lo)), so that the select
// vectorises without branches (random data makes a branch on "bigger?" mispredict half the time). The
// offset is an int32, the float's width, whenever min(KH, H) * W fits one (always, in practice), else an
// int64: no window the contract admits can overflow it.
template <typename Off>
inline void max_backward_t(const Window2d& g, const float* dy, const float* x, float* dx) {
  const int64_t C = g.c;
  zero_for_backward(g, dx);
  for_lines(g, true, [&](int64_t n, int64_t oh) {
    float m[kChannelBlock];
    Off at[kChannelBlock];
    const float* xn = x + n * g.h * g.w * C;
    float* dxn = dx + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    prepare_own_rows(g, r, dxn);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      const int64_t base = (r.start + r.lo) * g.w + q.start + q.lo;  // the window's first real pixel
      for (int64_t c0 = 0; c0 < C; c0 += kChannelBlock) {
        const int64_t cb = C - c0 < kChannelBlock ? C - c0 : kChannelBlock;
        const float* d = dy + ((n * g.ho + oh) * g.wo + ow) * C + c0;
        const float* xc = xn + c0;
        float* dxc = dxn + c0;
        for (int64_t c = 0; c < cb; ++c) m[c] = xc[base * C + c], at[c] = 0;
        for (int64_t kh = r.lo; kh < r.hi; ++kh)
          for (int64_t kw = q.lo; kw < q.hi; ++kw) {
            const Off p = static_cast<Off>((kh - r.lo) * g.w + (kw - q.lo));
            const float* src = xc + (base + p) * C;
#pragma omp simd
            for (int64_t c = 0; c < cb; ++c) {
              const float v = src[c], cur = m[c];
              const bool take = takes_over(v, cur);
              m[c] = take ? v : cur;
              at[c] = take ? p : at[c];
            }
          }
        if (disjoint(g)) {  // every pixel of the window written once: dy at the argmax, 0 elsewhere
          for (int64_t kh = r.lo; kh < r.hi; ++kh)
            for (int64_t kw = q.lo; kw < q.hi; ++kw) {
              const Off p = static_cast<Off>((kh - r.lo) * g.w + (kw - q.lo));
              float* dst = dxc + (base + p) * C;
#pragma omp simd
              for (int64_t c = 0; c < cb; ++c) {
                const float dv = d[c];  // loaded unconditionally so that the select vectorises
                dst[c] = at[c] == p ? dv : 0.0f;
              }
            }
        } else {
          for (int64_t c = 0; c < cb; ++c) dxc[(base + at[c]) * C + c] += d[c];
        }
      }
    }
  });
}

inline void max_backward(const Window2d& g, const float* dy, const float* x, float* dx) {
  const int64_t rows = g.kh < g.h ? g.kh : g.h;
  if (mul_sat(rows, g.w) < (int64_t(1) << 31))
    max_backward_t<int32_t>(g, dy, x, dx);
  else
    max_backward_t<int64_t>(g, dy, x, dx);
}

inline void avg_forward(const Window2d& g, const float* x, float* y) {
  const int64_t C = g.c;
  for_lines(g, false, [&](int64_t n, int64_t oh) {
    const float* xn = x + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      float* out = y + ((n * g.ho + oh) * g.wo + ow) * C;
      fill_zero(out, C);
      for (int64_t kh = r.lo; kh < r.hi; ++kh)
        for (int64_t kw = q.lo; kw < q.hi; ++kw) {
          const float* src = xn + ((r.start + kh) * g.w + q.start + kw) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) out[c] += src[c];
        }
      const float inv = 1.0f / static_cast<float>((r.hi - r.lo) * (q.hi - q.lo));
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) out[c] *= inv;
    }
  });
}

inline void avg_backward(const Window2d& g, const float* dy, float* dx) {
  const int64_t C = g.c;
  zero_for_backward(g, dx);
  for_lines(g, true, [&](int64_t n, int64_t oh) {
    float* dxn = dx + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    prepare_own_rows(g, r, dxn);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      const float* d = dy + ((n * g.ho + oh) * g.wo + ow) * C;
      const float inv = 1.0f / static_cast<float>((r.hi - r.lo) * (q.hi - q.lo));
      for (int64_t kh = r.lo; kh < r.hi; ++kh)
        for (int64_t kw = q.lo; kw < q.hi; ++kw) {
          float* dst = dxn + ((r.start + kh) * g.w + q.start + kw) * C;
          if (disjoint(g)) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) dst[c] = d[c] * inv;
          } else {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) dst[c] += d[c] * inv;
          }
        }
    }
  });
}

// The entry points pooling.cpp dispatches to (one set per instruction set, see FORGENET_POOL_ENTRY_POINTS).
// An empty output (or input) returns before any loop: with 0 channels H and W may be anything.
inline bool nothing_out(const Window2d& g) { return g.n == 0 || g.c == 0 || g.ho == 0 || g.wo == 0; }
inline bool nothing_in(const Window2d& g) { return g.n == 0 || g.c == 0 || g.h == 0 || g.w == 0; }

void max_pool2d_forward(const Window2d& g, const float* x, float* y) {
  if (!nothing_out(g)) max_forward(g, x, y);
}
void max_pool2d_backward(const Window2d& g, const float* dy, const float* x, float* dx) {
  if (!nothing_in(g)) max_backward(g, dy, x, dx);
}
void avg_pool2d_forward(const Window2d& g, const float* x, float* y) {
  if (!nothing_out(g)) avg_forward(g, x, y);
}
void avg_pool2d_backward(const Window2d& g, const float* dy, float* dx) {
  if (!nothing_in(g)) avg_backward(g, dy, dx);
}

}  // namespace forgenet::FORGENET_POOL_NS

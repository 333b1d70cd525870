// Pooling's per-ISA leaf loops (see pooling_kernels.h; the threads and the up-front zeroing are
// pooling.cpp's). Channels are innermost and contiguous in NHWC, so every inner loop is a plain vector
// loop over C that the compiler widens to the ISA this file is built for. How backward passes fill dx
// without races or atomics:
//  - windows overlap nowhere (SH >= KH and SW >= KW, e.g. the usual 2x2 stride-2 pool): each input pixel
//    lies in at most one window, so a line writes its windows' pixels outright (no zeroing, no adds) and
//    zeroes only the pixels of its rows that no window covers;
//  - windows overlap sideways only (SH >= KH): a line still owns its input rows; it zeroes them while
//    they are hot in cache, then adds;
//  - otherwise dx is zeroed up front and lines add, in phases: lines whose windows share input rows
//    (oh mod ceil(KH / SH)) never run at the same time.
// Rows that no window touches at all are zeroed up front in every case.
#include "cpu/isa/pooling_kernels.h"

#include <cstdint>

#include "common/checked.h"

namespace forgenet::FORGENET_ISA_NS {

using pool::disjoint;
using pool::fill_zero;
using pool::owns_rows;
using pool::Span;
using pool::span;

namespace {

constexpr int64_t kChannelBlock = 256;  // channels whose running max/argmax live on the stack at once

template <typename F>
void for_lines(const pool::Lines& l, int64_t t0, int64_t t1, F&& f) {
  for (int64_t t = t0; t < t1; ++t) f(t / l.per_image, l.phase + (t % l.per_image) * l.phases);
}

// Before a line writes its windows: zero whatever of its own rows the windows will not overwrite.
void prepare_own_rows(const Window2d& g, const Span& r, float* dxn) {
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
bool takes_over(float v, float m) { return (v > m) | ((v != v) & (m == m)); }

}  // namespace

void max_pool_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* x, float* y) {
  const int64_t C = g.c;
  for_lines(l, t0, t1, [&](int64_t n, int64_t oh) {
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

namespace {

// The gradient of each window goes to its first maximum in row-major (kh, kw) order; the argmax is kept
// as a pixel offset from the window's first real pixel ((kh - lo) * W + (kw - lo)), so that the select
// vectorises without branches (random data makes a branch on "bigger?" mispredict half the time). The
// offset is an int32, the float's width, whenever min(KH, H) * W fits one (always, in practice), else an
// int64: no window the contract admits can overflow it.
template <typename Off>
void max_backward_t(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* dy, const float* x,
                    float* dx) {
  const int64_t C = g.c;
  for_lines(l, t0, t1, [&](int64_t n, int64_t oh) {
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

}  // namespace

void max_pool_backward_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* dy,
                             const float* x, float* dx) {
  const int64_t rows = g.kh < g.h ? g.kh : g.h;
  if (mul_sat(rows, g.w) < (int64_t(1) << 31))
    max_backward_t<int32_t>(g, l, t0, t1, dy, x, dx);
  else
    max_backward_t<int64_t>(g, l, t0, t1, dy, x, dx);
}

void avg_pool_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* x, float* y) {
  const int64_t C = g.c;
  for_lines(l, t0, t1, [&](int64_t n, int64_t oh) {
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

void avg_pool_backward_lines(const Window2d& g, const pool::Lines& l, int64_t t0, int64_t t1, const float* dy,
                             float* dx) {
  const int64_t C = g.c;
  for_lines(l, t0, t1, [&](int64_t n, int64_t oh) {
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

}  // namespace forgenet::FORGENET_ISA_NS

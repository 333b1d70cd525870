// Pooling as direct loops: threads take output lines (n, oh); channels are innermost, contiguous in
// NHWC, so every inner loop is a plain vector loop over C. Backward passes add into dx; when windows
// overlap vertically (stride < pool), lines whose windows share input rows run in separate phases,
// so no two threads ever write the same element and no atomics are needed.
#include "cpu/pooling.h"

#include <algorithm>
#include <vector>

namespace forgenet {

namespace {

constexpr int64_t kParallelMin = 32768;  // floats of work below which threads cost more than they save

// The window of output index o along one axis: it starts at `start` (negative inside the padding)
// and its real elements are offsets [lo, hi).
struct Span {
  int64_t start, lo, hi;
};

inline Span span(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size) {
  const int64_t start = o * stride - pad;
  return {start, std::max<int64_t>(0, -start), std::min(k, size - start)};
}

// Calls f(n, oh) for every output line, in parallel. With `exclusive`, lines whose windows share input
// rows are put in different phases (oh mod ceil(KH / SH)), so f may accumulate into those rows.
template <typename F>
void for_lines(const Window2d& g, bool exclusive, F&& f) {
  const int64_t phases = exclusive && g.sh < g.kh ? (g.kh + g.sh - 1) / g.sh : 1;
  const int64_t work = g.wo * g.kh * g.kw * g.c;
  for (int64_t ph = 0; ph < phases; ++ph) {
    const int64_t per_image = (g.ho - ph + phases - 1) / phases;
    const int64_t tasks = g.n * per_image;
#pragma omp parallel for schedule(static) if (tasks * work > kParallelMin)
    for (int64_t t = 0; t < tasks; ++t) f(t / per_image, ph + (t % per_image) * phases);
  }
}

inline void zero(float* a, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) a[i] = 0.0f;
}

// v replaces the running max m when larger, or when it is the first NaN (NaN then sticks).
inline bool takes_over(float v, float m) { return v > m || (v != v && m == m); }

}  // namespace

void max_pool2d_forward(const Window2d& g, const float* x, float* y) {
  const int64_t C = g.c;
  for_lines(g, false, [&](int64_t n, int64_t oh) {
    const float* xn = x + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      float* out = y + ((n * g.ho + oh) * g.wo + ow) * C;
      const float* first = xn + ((r.start + r.lo) * g.w + q.start + q.lo) * C;
      std::copy(first, first + C, out);
      for (int64_t kh = r.lo; kh < r.hi; ++kh)
        for (int64_t kw = q.lo; kw < q.hi; ++kw) {
          const float* src = xn + ((r.start + kh) * g.w + q.start + kw) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) out[c] = takes_over(src[c], out[c]) ? src[c] : out[c];
        }
    }
  });
}

void max_pool2d_backward(const Window2d& g, const float* dy, const float* x, float* dx) {
  const int64_t C = g.c;
  zero(dx, g.n * g.h * g.w * C);
  for_lines(g, true, [&](int64_t n, int64_t oh) {
    thread_local std::vector<float> best;
    thread_local std::vector<int64_t> where;  // argmax as a pixel index h * W + w within the image
    best.resize(C);
    where.resize(C);
    float* m = best.data();
    int64_t* at = where.data();
    const float* xn = x + n * g.h * g.w * C;
    float* dxn = dx + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      const float* d = dy + ((n * g.ho + oh) * g.wo + ow) * C;
      const int64_t p0 = (r.start + r.lo) * g.w + q.start + q.lo;
      std::copy(xn + p0 * C, xn + p0 * C + C, m);
      std::fill(at, at + C, p0);
      for (int64_t kh = r.lo; kh < r.hi; ++kh)
        for (int64_t kw = q.lo; kw < q.hi; ++kw) {
          const int64_t p = (r.start + kh) * g.w + q.start + kw;
          const float* src = xn + p * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) {
            const bool take = takes_over(src[c], m[c]);
            m[c] = take ? src[c] : m[c];
            at[c] = take ? p : at[c];
          }
        }
      for (int64_t c = 0; c < C; ++c) dxn[at[c] * C + c] += d[c];
    }
  });
}

void avg_pool2d_forward(const Window2d& g, const float* x, float* y) {
  const int64_t C = g.c;
  for_lines(g, false, [&](int64_t n, int64_t oh) {
    const float* xn = x + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      float* out = y + ((n * g.ho + oh) * g.wo + ow) * C;
      std::fill(out, out + C, 0.0f);
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

void avg_pool2d_backward(const Window2d& g, const float* dy, float* dx) {
  const int64_t C = g.c;
  zero(dx, g.n * g.h * g.w * C);
  for_lines(g, true, [&](int64_t n, int64_t oh) {
    float* dxn = dx + n * g.h * g.w * C;
    const Span r = span(oh, g.sh, g.pad_top, g.kh, g.h);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const Span q = span(ow, g.sw, g.pad_left, g.kw, g.w);
      const float* d = dy + ((n * g.ho + oh) * g.wo + ow) * C;
      const float inv = 1.0f / static_cast<float>((r.hi - r.lo) * (q.hi - q.lo));
      for (int64_t kh = r.lo; kh < r.hi; ++kh)
        for (int64_t kw = q.lo; kw < q.hi; ++kw) {
          float* dst = dxn + ((r.start + kh) * g.w + q.start + kw) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) dst[c] += d[c] * inv;
        }
    }
  });
}

}  // namespace forgenet

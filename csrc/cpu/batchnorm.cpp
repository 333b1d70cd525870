// BatchNorm: per-channel sums are the whole cost, and channels are innermost in Keras's layout, so the
// reductions run along rows of C with one accumulator per channel (a plain loop over c that the
// compiler vectorises, no cross-lane reduction). Threads take contiguous ranges of rows and keep their
// own partial sums, added in thread order afterwards: deterministic for a given thread count.
//
// Statistics are one pass over x: sums of (x - k) and (x - k)^2 with k the channel's first value (the
// shifted-data algorithm, so |mean| >> std does not cancel), in float over blocks of kBlock rows and in
// double across blocks.
#include "cpu/batchnorm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/cpu_features.h"

namespace forgenet {

namespace {

// The channels-last (inner == 1) row loops, compiled generic and as target("avx2,fma") clones picked at
// run time (as optimizer.cpp does): each is a plain loop over the C channels of rows [r0, r1).
struct Rows {
  static inline void stats(const float* __restrict x, int64_t r0, int64_t r1, int64_t c, const float* __restrict k,
                           float* __restrict a1, float* __restrict a2) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * c;
      for (int64_t j = 0; j < c; ++j) {
        const float d = xr[j] - k[j];
        a1[j] += d;
        a2[j] += d * d;
      }
    }
  }
  static inline void grad_sums(const float* __restrict x, const float* __restrict dy, int64_t r0, int64_t r1,
                               int64_t c, const float* __restrict m, float* __restrict a1, float* __restrict a2) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * c;
      const float* __restrict dr = dy + r * c;
      for (int64_t j = 0; j < c; ++j) {
        a1[j] += dr[j];
        a2[j] += dr[j] * (xr[j] - m[j]);
      }
    }
  }
  // y = (x - m) * a + b, or y = x * a when m and b are null
  static inline void apply(const float* __restrict x, int64_t r0, int64_t r1, int64_t c, const float* __restrict m,
                           const float* __restrict a, const float* __restrict b, float* __restrict y) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * c;
      float* __restrict yr = y + r * c;
      if (m)
        for (int64_t j = 0; j < c; ++j) yr[j] = (xr[j] - m[j]) * a[j] + b[j];
      else
        for (int64_t j = 0; j < c; ++j) yr[j] = xr[j] * a[j];
    }
  }
  static inline void dx(const float* __restrict x, const float* __restrict dy, int64_t r0, int64_t r1, int64_t c,
                        const float* __restrict m, const float* __restrict a, const float* __restrict b,
                        const float* __restrict cc, float* __restrict out) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * c;
      const float* __restrict dr = dy + r * c;
      float* __restrict o = out + r * c;
      for (int64_t j = 0; j < c; ++j) o[j] = a[j] * dr[j] + b[j] * (xr[j] - m[j]) + cc[j];
    }
  }
};

using StatsFn = void (*)(const float*, int64_t, int64_t, int64_t, const float*, float*, float*);
using GradFn = void (*)(const float*, const float*, int64_t, int64_t, int64_t, const float*, float*, float*);
using ApplyFn = void (*)(const float*, int64_t, int64_t, int64_t, const float*, const float*, const float*, float*);
using DxFn = void (*)(const float*, const float*, int64_t, int64_t, int64_t, const float*, const float*,
                      const float*, const float*, float*);

struct RowFns {
  StatsFn stats;
  GradFn grad_sums;
  ApplyFn apply;
  DxFn dx;
};

#define FORGENET_BN_ROWS(suffix, attr)                                                                         \
  attr void stats_##suffix(const float* x, int64_t r0, int64_t r1, int64_t c, const float* k, float* a1,       \
                           float* a2) {                                                                        \
    Rows::stats(x, r0, r1, c, k, a1, a2);                                                                      \
  }                                                                                                            \
  attr void grad_##suffix(const float* x, const float* dy, int64_t r0, int64_t r1, int64_t c, const float* m,  \
                          float* a1, float* a2) {                                                              \
    Rows::grad_sums(x, dy, r0, r1, c, m, a1, a2);                                                              \
  }                                                                                                            \
  attr void apply_##suffix(const float* x, int64_t r0, int64_t r1, int64_t c, const float* m, const float* a,   \
                           const float* b, float* y) {                                                         \
    Rows::apply(x, r0, r1, c, m, a, b, y);                                                                     \
  }                                                                                                            \
  attr void dx_##suffix(const float* x, const float* dy, int64_t r0, int64_t r1, int64_t c, const float* m,    \
                        const float* a, const float* b, const float* cc, float* out) {                         \
    Rows::dx(x, dy, r0, r1, c, m, a, b, cc, out);                                                              \
  }

FORGENET_BN_ROWS(generic, )
#ifdef FORGENET_X86
FORGENET_BN_ROWS(avx2, __attribute__((target("avx2,fma"))))
#endif
#undef FORGENET_BN_ROWS

const RowFns& row_fns() {
  static const RowFns fns = [] {
#ifdef FORGENET_X86
    if (best_isa() >= Isa::avx2) return RowFns{stats_avx2, grad_avx2, apply_avx2, dx_avx2};
#endif
    return RowFns{stats_generic, grad_generic, apply_generic, dx_generic};
  }();
  return fns;
}

constexpr int64_t kBlock = 64;          // rows summed in float before joining the double sums
constexpr int64_t kParallelMin = 32768;  // elements below which one thread is faster

int threads_for(int64_t n) { return n >= kParallelMin ? omp_get_max_threads() : 1; }

// Per-thread double partials of two per-channel sums, laid out [thread][2][C]; `body(r0, r1, f1, f2)`
// adds rows [r0, r1) (row r = (o, i) for inner > 1 is handled by the caller's indexing) into the float
// block sums f1, f2.
template <typename Body>
void channel_sums(int64_t rows, int64_t c, int64_t work, double* s1, double* s2, Body body) {
  const int threads = threads_for(work);
  std::vector<double> part(static_cast<size_t>(threads) * 2 * c, 0.0);
  int used = 1;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
    used = nt;
    const int64_t r_begin = rows * t / nt, r_end = rows * (t + 1) / nt;
    double* p1 = part.data() + static_cast<size_t>(t) * 2 * c;
    double* p2 = p1 + c;
    std::vector<float> f1(c), f2(c);
    for (int64_t r0 = r_begin; r0 < r_end; r0 += kBlock) {
      const int64_t r1 = r0 + kBlock < r_end ? r0 + kBlock : r_end;
      for (int64_t j = 0; j < c; ++j) f1[j] = f2[j] = 0.0f;
      body(r0, r1, f1.data(), f2.data());
      for (int64_t j = 0; j < c; ++j) {
        p1[j] += f1[j];
        p2[j] += f2[j];
      }
    }
  }
  for (int64_t j = 0; j < c; ++j) {
    double a = 0.0, b = 0.0;
    for (int t = 0; t < used; ++t) {
      a += part[static_cast<size_t>(t) * 2 * c + j];
      b += part[static_cast<size_t>(t) * 2 * c + c + j];
    }
    s1[j] = a;
    s2[j] = b;
  }
}

// Sums over x[o, :, i] of f(x, dy) for the channel accumulators; rows are (o) for inner == 1 and
// (o, c) runs of `inner` otherwise.
template <typename F1, typename F2>
void reduce(const float* x, const float* dy, int64_t outer, int64_t c, int64_t inner, double* s1, double* s2,
            F1 f1, F2 f2) {
  const int64_t n = outer * c * inner;
  if (inner == 1) {
    channel_sums(outer, c, n, s1, s2, [&](int64_t r0, int64_t r1, float* a1, float* a2) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * c;
        const float* dr = dy ? dy + r * c : nullptr;
        for (int64_t j = 0; j < c; ++j) {
          const float d = dr ? dr[j] : 0.0f;
          a1[j] += f1(xr[j], d, j);
          a2[j] += f2(xr[j], d, j);
        }
      }
    });
    return;
  }
  channel_sums(outer, c, n, s1, s2, [&](int64_t r0, int64_t r1, float* a1, float* a2) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < c; ++j) {
        const int64_t base = (r * c + j) * inner;
        const float* xr = x + base;
        const float* dr = dy ? dy + base : nullptr;
        float b1 = 0.0f, b2 = 0.0f;
        for (int64_t i = 0; i < inner; ++i) {
          const float d = dr ? dr[i] : 0.0f;
          b1 += f1(xr[i], d, j);
          b2 += f2(xr[i], d, j);
        }
        a1[j] += b1;
        a2[j] += b2;
      }
  });
}

// y = (x - m[c]) * a[c] + b[c]; m or b null: zeros (the inference dx = dy * a[c]). Centring first keeps
// precision when |mean| >> std.
void affine(const float* x, const float* m, const float* a, const float* b, float* y, int64_t outer, int64_t c,
            int64_t inner) {
  if (inner == 1) {
    const ApplyFn f = row_fns().apply;
    const int64_t chunks = (outer + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) num_threads(threads_for(outer * c))
    for (int64_t q = 0; q < chunks; ++q) f(x, q * kBlock, std::min(outer, (q + 1) * kBlock), c, m, a, b, y);
    return;
  }
  const int64_t rows = outer * (inner == 1 ? 1 : c), len = inner == 1 ? c : inner;
#pragma omp parallel for schedule(static) num_threads(threads_for(outer * c * inner))
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * len;
    float* yr = y + r * len;
    if (inner == 1) {
      if (m && b) {
        for (int64_t j = 0; j < c; ++j) yr[j] = (xr[j] - m[j]) * a[j] + b[j];
      } else {
        for (int64_t j = 0; j < c; ++j) yr[j] = xr[j] * a[j];
      }
    } else {
      const float aj = a[r % c], bj = b ? b[r % c] : 0.0f, mj = m ? m[r % c] : 0.0f;
      for (int64_t i = 0; i < len; ++i) yr[i] = (xr[i] - mj) * aj + bj;
    }
  }
}

// The channel's first element: the shift of the one-pass variance.
std::vector<float> pivots(const float* x, int64_t outer, int64_t c, int64_t inner) {
  std::vector<float> k(c, 0.0f);
  if (outer * inner > 0)
    for (int64_t j = 0; j < c; ++j) k[j] = x[j * inner];
  return k;
}

}  // namespace

void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                              float* var, int64_t outer, int64_t c, int64_t inner, float eps) {
  const std::vector<float> k = pivots(x, outer, c, inner);
  const float* kp = k.data();
  std::vector<double> s1(c), s2(c);
  if (inner == 1) {
    const StatsFn f = row_fns().stats;
    channel_sums(outer, c, outer * c, s1.data(), s2.data(),
                 [&](int64_t r0, int64_t r1, float* a1, float* a2) { f(x, r0, r1, c, kp, a1, a2); });
  } else {
    reduce(x, nullptr, outer, c, inner, s1.data(), s2.data(),
           [kp](float v, float, int64_t j) { return v - kp[j]; },
           [kp](float v, float, int64_t j) { return (v - kp[j]) * (v - kp[j]); });
  }
  const double n = static_cast<double>(outer * inner);
  std::vector<float> a(c);
  for (int64_t j = 0; j < c; ++j) {
    const double m1 = n > 0 ? s1[j] / n : 0.0;
    const double v = n > 0 ? std::max(s2[j] / n - m1 * m1, 0.0) : 0.0;
    mean[j] = static_cast<float>(k[j] + m1);
    var[j] = static_cast<float>(v);
    const float rs = 1.0f / std::sqrt(var[j] + eps);
    a[j] = gamma[j] * rs;
  }
  affine(x, mean, a.data(), beta, y, outer, c, inner);
}

void batch_norm_forward_infer(const float* x, const float* gamma, const float* beta, const float* mean,
                              const float* var, float* y, int64_t outer, int64_t c, int64_t inner, float eps) {
  std::vector<float> a(c);
  for (int64_t j = 0; j < c; ++j) a[j] = gamma[j] / std::sqrt(var[j] + eps);
  affine(x, mean, a.data(), beta, y, outer, c, inner);
}

void batch_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean, const float* var,
                         float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t c, int64_t inner, float eps,
                         bool training) {
  std::vector<float> rstd(c);
  for (int64_t j = 0; j < c; ++j) rstd[j] = 1.0f / std::sqrt(var[j] + eps);
  const float* mp = mean;
  // sums of dy and dy * (x - mean); dgamma is the latter times rstd
  std::vector<double> sdy(c), sdyx(c);
  if (inner == 1) {
    const GradFn f = row_fns().grad_sums;
    channel_sums(outer, c, outer * c, sdy.data(), sdyx.data(),
                 [&](int64_t r0, int64_t r1, float* a1, float* a2) { f(x, dy, r0, r1, c, mp, a1, a2); });
  } else {
    reduce(x, dy, outer, c, inner, sdy.data(), sdyx.data(), [](float, float d, int64_t) { return d; },
           [mp](float v, float d, int64_t j) { return d * (v - mp[j]); });
  }
  const double n = static_cast<double>(outer * inner);
  std::vector<float> a(c), b(c), cc(c);
  for (int64_t j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sdy[j]);
    dgamma[j] = static_cast<float>(sdyx[j] * rstd[j]);
    a[j] = gamma[j] * rstd[j];
    if (training && n > 0) {
      // dx = a * (dy - sdy / n - (x - mean) * rstd^2 * sdyx / n) = a * dy + b * (x - mean) + cc
      b[j] = static_cast<float>(-a[j] * static_cast<double>(rstd[j]) * rstd[j] * sdyx[j] / n);
      cc[j] = static_cast<float>(-a[j] * sdy[j] / n);
    }
  }
  if (!training) {
    affine(dy, nullptr, a.data(), nullptr, dx, outer, c, inner);
    return;
  }
  if (inner == 1) {
    const DxFn f = row_fns().dx;
    const int64_t chunks = (outer + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) num_threads(threads_for(outer * c))
    for (int64_t q = 0; q < chunks; ++q)
      f(x, dy, q * kBlock, std::min(outer, (q + 1) * kBlock), c, mean, a.data(), b.data(), cc.data(), dx);
    return;
  }
  const int64_t rows = outer * (inner == 1 ? 1 : c), len = inner == 1 ? c : inner;
#pragma omp parallel for schedule(static) num_threads(threads_for(outer * c * inner))
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * len;
    const float* dr = dy + r * len;
    float* o = dx + r * len;
    if (inner == 1) {
      for (int64_t j = 0; j < c; ++j) o[j] = a[j] * dr[j] + b[j] * (xr[j] - mean[j]) + cc[j];
    } else {
      const int64_t j = r % c;
      const float aj = a[j], bj = b[j], cj = cc[j], mj = mean[j];
      for (int64_t i = 0; i < len; ++i) o[i] = aj * dr[i] + bj * (xr[i] - mj) + cj;
    }
  }
}

}  // namespace forgenet

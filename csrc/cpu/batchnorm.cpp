// BatchNorm: per-channel sums are the whole cost, and channels are innermost in Keras's layout, so the
// reductions run along rows of C with one accumulator per channel (a plain loop over c that the
// compiler vectorises, no cross-lane reduction). Threads take contiguous ranges of rows and keep their
// own partial sums, added in thread order afterwards: deterministic for a given thread count.
//
// Statistics are one pass over x: sums of (x - k) and (x - k)^2 with k the channel's first value (the
// shifted-data algorithm, so |mean| >> std does not cancel), in float over blocks of kBlock rows and in
// double across blocks.
#include "cpu/batchnorm.h"

#include <algorithm>
#include <cmath>

#include "common/workspace.h"
#include "cpu/isa/batchnorm_rows.h"
#include "cpu/parallel.h"

namespace forgenet {

namespace {

constexpr int64_t kBlock = 64;  // rows summed in float before joining the double sums

// Per-chunk double partials of two per-channel sums, laid out [chunk][2][C] with each chunk's float
// block sums after them; `body(r0, r1, f1, f2)` adds rows [r0, r1) (row r = (o, i) for inner > 1 is
// handled by the caller's indexing) into the float block sums f1, f2. `row_work`: floats per row.
template <typename Body>
void channel_sums(int64_t rows, int64_t c, int64_t row_work, double* s1, double* s2, Body body) {
  const int64_t grain = grain_for(row_work);
  const int chunks = parallel_chunks(rows, grain);
  const int64_t per = Scratch::floats<double>(2 * c) + 2 * Scratch::floats(c);
  Scratch s(chunks * per, "batch_norm's per-thread channel sums");
  double* part = s.take<double>(0);  // the chunks' pieces follow one another
  for (int k = 0; k < chunks; ++k) s.take<float>(per);
  for (int k = 0; k < chunks; ++k)  // here, not in the chunks: with no rows there are none
    for (int64_t j = 0; j < 2 * c; ++j) reinterpret_cast<double*>(reinterpret_cast<float*>(part) + k * per)[j] = 0.0;
  parallel_for_chunks(0, rows, grain, [&](int k, int64_t r_begin, int64_t r_end) {
    double* p1 = reinterpret_cast<double*>(reinterpret_cast<float*>(part) + k * per);
    double* p2 = p1 + c;
    float* f1 = reinterpret_cast<float*>(part) + k * per + Scratch::floats<double>(2 * c);
    float* f2 = f1 + Scratch::floats(c);
    for (int64_t r0 = r_begin; r0 < r_end; r0 += kBlock) {
      const int64_t r1 = r0 + kBlock < r_end ? r0 + kBlock : r_end;
      for (int64_t j = 0; j < c; ++j) f1[j] = f2[j] = 0.0f;
      body(r0, r1, f1, f2);
      for (int64_t j = 0; j < c; ++j) {
        p1[j] += f1[j];
        p2[j] += f2[j];
      }
    }
  });
  for (int64_t j = 0; j < c; ++j) {
    double a = 0.0, b = 0.0;
    for (int k = 0; k < chunks; ++k) {
      const double* p1 = reinterpret_cast<const double*>(reinterpret_cast<const float*>(part) + k * per);
      a += p1[j];
      b += p1[c + j];
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
    channel_sums(outer, c, n / std::max<int64_t>(outer, 1), s1, s2, [&](int64_t r0, int64_t r1, float* a1, float* a2) {
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
  channel_sums(outer, c, n / std::max<int64_t>(outer, 1), s1, s2, [&](int64_t r0, int64_t r1, float* a1, float* a2) {
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
    parallel_for(0, outer, grain_for(c), [&](int64_t r0, int64_t r1) {
      FORGENET_ISA_CALL_UPTO_AVX2(bn_apply_rows, x, r0, r1, c, m, a, b, y);
    });
    return;
  }
  parallel_for(0, outer * c, grain_for(inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * inner;
      float* yr = y + r * inner;
      const float aj = a[r % c], bj = b ? b[r % c] : 0.0f, mj = m ? m[r % c] : 0.0f;
      for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - mj) * aj + bj;
    }
  });
}

// The channel's first element: the shift of the one-pass variance.
void pivots(const float* x, int64_t outer, int64_t c, int64_t inner, float* k) {
  for (int64_t j = 0; j < c; ++j) k[j] = outer * inner > 0 ? x[j * inner] : 0.0f;
}

}  // namespace

void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                              float* var, int64_t outer, int64_t c, int64_t inner, float eps) {
  Scratch s(2 * Scratch::floats(c) + 2 * Scratch::floats<double>(c), "batch_norm's channel statistics");
  float* k = s.take(c);
  float* a = s.take(c);
  double* s1 = s.take<double>(c);
  double* s2 = s.take<double>(c);
  pivots(x, outer, c, inner, k);
  const float* kp = k;
  if (inner == 1) {
    channel_sums(outer, c, c, s1, s2, [&](int64_t r0, int64_t r1, float* a1, float* a2) {
      FORGENET_ISA_CALL_UPTO_AVX2(bn_stats_rows, x, r0, r1, c, kp, a1, a2);
    });
  } else {
    reduce(x, nullptr, outer, c, inner, s1, s2,
           [kp](float v, float, int64_t j) { return v - kp[j]; },
           [kp](float v, float, int64_t j) { return (v - kp[j]) * (v - kp[j]); });
  }
  const double n = static_cast<double>(outer * inner);
  for (int64_t j = 0; j < c; ++j) {
    const double m1 = n > 0 ? s1[j] / n : 0.0;
    const double v = n > 0 ? std::max(s2[j] / n - m1 * m1, 0.0) : 0.0;
    mean[j] = static_cast<float>(k[j] + m1);
    var[j] = static_cast<float>(v);
    const float rs = 1.0f / std::sqrt(var[j] + eps);
    a[j] = gamma[j] * rs;
  }
  affine(x, mean, a, beta, y, outer, c, inner);
}

void batch_norm_forward_infer(const float* x, const float* gamma, const float* beta, const float* mean,
                              const float* var, float* y, int64_t outer, int64_t c, int64_t inner, float eps) {
  Scratch s(Scratch::floats(c), "batch_norm's scales");
  float* a = s.take(c);
  for (int64_t j = 0; j < c; ++j) a[j] = gamma[j] / std::sqrt(var[j] + eps);
  affine(x, mean, a, beta, y, outer, c, inner);
}

void batch_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean, const float* var,
                         float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t c, int64_t inner, float eps,
                         bool training) {
  Scratch s(4 * Scratch::floats(c) + 2 * Scratch::floats<double>(c), "batch_norm_backward's channel sums");
  float* rstd = s.take(c);
  float* a = s.take(c);
  float* b = s.take(c);
  float* cc = s.take(c);
  double* sdy = s.take<double>(c);
  double* sdyx = s.take<double>(c);
  for (int64_t j = 0; j < c; ++j) rstd[j] = 1.0f / std::sqrt(var[j] + eps);
  const float* mp = mean;
  // sums of dy and dy * (x - mean); dgamma is the latter times rstd
  if (inner == 1) {
    channel_sums(outer, c, 2 * c, sdy, sdyx, [&](int64_t r0, int64_t r1, float* a1, float* a2) {
      FORGENET_ISA_CALL_UPTO_AVX2(bn_grad_rows, x, dy, r0, r1, c, mp, a1, a2);
    });
  } else {
    reduce(x, dy, outer, c, inner, sdy, sdyx, [](float, float d, int64_t) { return d; },
           [mp](float v, float d, int64_t j) { return d * (v - mp[j]); });
  }
  const double n = static_cast<double>(outer * inner);
  for (int64_t j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sdy[j]);
    dgamma[j] = static_cast<float>(sdyx[j] * rstd[j]);
    a[j] = gamma[j] * rstd[j];
    b[j] = cc[j] = 0.0f;
    if (training && n > 0) {
      // dx = a * (dy - sdy / n - (x - mean) * rstd^2 * sdyx / n) = a * dy + b * (x - mean) + cc
      b[j] = static_cast<float>(-a[j] * static_cast<double>(rstd[j]) * rstd[j] * sdyx[j] / n);
      cc[j] = static_cast<float>(-a[j] * sdy[j] / n);
    }
  }
  if (!training) {
    affine(dy, nullptr, a, nullptr, dx, outer, c, inner);
    return;
  }
  if (inner == 1) {
    parallel_for(0, outer, grain_for(2 * c), [&](int64_t r0, int64_t r1) {
      FORGENET_ISA_CALL_UPTO_AVX2(bn_dx_rows, x, dy, r0, r1, c, mean, a, b, cc, dx);
    });
    return;
  }
  parallel_for(0, outer * c, grain_for(2 * inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * inner;
      const float* dr = dy + r * inner;
      float* o = dx + r * inner;
      const int64_t j = r % c;
      const float aj = a[j], bj = b[j], cj = cc[j], mj = mean[j];
      for (int64_t i = 0; i < inner; ++i) o[i] = aj * dr[i] + bj * (xr[i] - mj) + cj;
    }
  });
}

}  // namespace forgenet

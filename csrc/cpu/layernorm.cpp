// LayerNorm: rows are independent, so threads take contiguous row ranges. Row sums use 8 partial
// accumulators (vectorisable without -ffast-math); the variance is a second pass over the centred
// row, which stays accurate when |mean| >> std. Memory bound, so no SIMD variants.
#include "cpu/layernorm.h"

#include <algorithm>
#include <cmath>

#include "common/workspace.h"
#include "cpu/parallel.h"

namespace forgenet {

namespace {

constexpr int kLanes = 8;

inline float sum_row(const float* x, int64_t n) {
  float a[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) a[j] += x[i + j];
  float s = 0.0f;
  for (; i < n; ++i) s += x[i];
  for (int j = 0; j < kLanes; ++j) s += a[j];
  return s;
}

inline float centred_sq_sum(const float* x, int64_t n, float m) {
  float a[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) a[j] += (x[i + j] - m) * (x[i + j] - m);
  float s = 0.0f;
  for (; i < n; ++i) s += (x[i] - m) * (x[i] - m);
  for (int j = 0; j < kLanes; ++j) s += a[j];
  return s;
}

}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t cols, float eps) {
  const float inv_n = cols ? 1.0f / static_cast<float>(cols) : 0.0f;
  parallel_for(0, rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float m = sum_row(xr, cols) * inv_n;
      const float rs = 1.0f / std::sqrt(centred_sq_sum(xr, cols, m) * inv_n + eps);
      for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - m) * rs * gamma[c] + beta[c];
      mean[r] = m;
      rstd[r] = rs;
    }
  });
}

void layer_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean,
                         const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t cols) {
  const float inv_n = cols ? 1.0f / static_cast<float>(cols) : 0.0f;
  const int64_t grain = grain_for(2 * cols);
  const int chunks = parallel_chunks(rows, grain);
  // Per-chunk partial dgamma/dbeta, summed in chunk order: the same result for the same thread count.
  const int64_t stride = Scratch::floats(2 * cols);
  Scratch s(mul_sat(chunks, stride), "layer_norm_backward's per-thread sums");
  float* part = s.take(chunks * stride);
  std::fill(part, part + chunks * stride, 0.0f);  // here, not in the chunks: with no rows there are none
  parallel_for_chunks(0, rows, grain, [&](int k, int64_t r0, int64_t r1) {
    float* pg = part + k * stride;
    float* pb = pg + cols;
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      const float* dyr = dy + r * cols;
      float* dxr = dx + r * cols;
      const float m = mean[r], rs = rstd[r];
      float sg = 0.0f, sgx = 0.0f;
      for (int64_t c = 0; c < cols; ++c) {
        const float xh = (xr[c] - m) * rs;
        const float g = dyr[c] * gamma[c];
        sg += g;
        sgx += g * xh;
        pg[c] += dyr[c] * xh;
        pb[c] += dyr[c];
      }
      sg *= inv_n;
      sgx *= inv_n;
      for (int64_t c = 0; c < cols; ++c) dxr[c] = rs * (dyr[c] * gamma[c] - sg - (xr[c] - m) * rs * sgx);
    }
  });
  for (int64_t c = 0; c < cols; ++c) {
    float g = 0.0f, b = 0.0f;
    for (int k = 0; k < chunks; ++k) {
      g += part[k * stride + c];
      b += part[k * stride + cols + c];
    }
    dgamma[c] = g;
    dbeta[c] = b;
  }
}

}  // namespace forgenet

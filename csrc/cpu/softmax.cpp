// Softmax and fused softmax-cross-entropy. Rows are independent, so each thread takes whole rows;
// every row is read once for the max, once for exp-and-sum, once to normalise (all in L1 for
// classifier-sized rows).
#include "cpu/softmax.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "cpu/parallel.h"

namespace forgenet {

namespace {

// Writes exp(x - max) into out and returns (max, sum). A NaN anywhere in the row makes the sum NaN,
// which then flows into every output of the row (never a crash, never a silent finite result).
inline void exp_shifted(const float* x, float* out, int64_t cols, float& mx, float& sum) {
  mx = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, x[c]);
  if (std::isnan(mx) || std::isinf(mx)) {
    // max() drops NaNs and an infinite max makes x - max NaN; fall back to the plain definition.
    bool any_nan = false;
    for (int64_t c = 0; c < cols; ++c) any_nan |= std::isnan(x[c]);
    if (any_nan) mx = std::numeric_limits<float>::quiet_NaN();
  }
  double s = 0.0;
  for (int64_t c = 0; c < cols; ++c) {
    float e = std::exp(x[c] - mx);
    out[c] = e;
    s += e;
  }
  sum = static_cast<float>(s);
}

}  // namespace

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  parallel_for(0, rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float mx, sum;
      exp_shifted(x + r * cols, y + r * cols, cols, mx, sum);
      const float inv = 1.0f / sum;
      for (int64_t c = 0; c < cols; ++c) y[r * cols + c] *= inv;
    }
  });
}

void softmax_backward_rows(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  parallel_for(0, rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      double dot = 0.0;
      for (int64_t c = 0; c < cols; ++c) dot += static_cast<double>(yr[c]) * dyr[c];
      const float d = static_cast<float>(dot);
      for (int64_t c = 0; c < cols; ++c) dx[r * cols + c] = yr[c] * (dyr[c] - d);
    }
  });
}

int64_t softmax_xent_sparse(const float* logits, const int64_t* labels, float* loss, float* grad,
                            int64_t rows, int64_t cols) {
  // Labels are checked before any work so that a bad batch changes nothing.
  for (int64_t r = 0; r < rows; ++r)
    if (labels[r] < 0 || labels[r] >= cols) return r;
  parallel_for(0, rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * cols;
      float* g = grad + r * cols;
      float mx, sum;
      exp_shifted(x, g, cols, mx, sum);
      const float inv = 1.0f / sum;
      for (int64_t c = 0; c < cols; ++c) g[c] *= inv;
      const int64_t t = labels[r];
      // log softmax computed from the logits, not log(p), so tiny probabilities keep their precision.
      loss[r] = std::log(sum) + mx - x[t];
      g[t] -= 1.0f;
    }
  });
  return -1;
}

void softmax_xent_dense(const float* logits, const float* target, float* loss, float* grad,
                        int64_t rows, int64_t cols) {
  parallel_for(0, rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * cols;
      const float* t = target + r * cols;
      float* g = grad + r * cols;
      float mx, sum;
      exp_shifted(x, g, cols, mx, sum);
      const float inv = 1.0f / sum;
      const float lse = std::log(sum) + mx;
      double l = 0.0, tsum = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        l += static_cast<double>(t[c]) * (lse - x[c]);
        tsum += t[c];
      }
      // d/dx of -sum t log softmax(x) is softmax(x) * sum(t) - t; sum(t) is 1 for proper targets.
      const float ts = static_cast<float>(tsum);
      for (int64_t c = 0; c < cols; ++c) g[c] = g[c] * inv * ts - t[c];
      loss[r] = static_cast<float>(l);
    }
  });
}

}  // namespace forgenet

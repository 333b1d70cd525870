// Convolution as im2col + large GEMMs (forgenet::sgemm).
// A row of the column matrix is one output pixel (n, oh, ow), in y's own order, so the GEMM
// cols (rows, KH*KW*Cin) @ kernel (KH*KW*Cin, Cout) writes y in place. In NHWC a patch row is KH runs
// of KW*Cin contiguous floats of x, so im2col is KH copies per pixel. Work goes in chunks of whole
// output lines (n, oh), as many as fit kColumnBudget, so the buffer stays bounded for any batch while
// the GEMMs stay as large as possible. A 1x1 stride-1 conv needs no im2col: x already is the matrix.
#include "cpu/conv2d.h"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "cpu/gemm.h"

namespace forgenet {

namespace {

constexpr int64_t kColumnBudget = 32ll << 20;  // bytes of column buffers per call
constexpr int64_t kParallelMin = 32768;         // floats of work below which threads cost more than they save

inline std::unique_ptr<float[]> scratch(int64_t n) { return std::unique_ptr<float[]>(new float[n]); }

inline bool is_pointwise(const Window2d& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1;  // no padding either way
}

// Whole output lines per chunk when each line costs `line_bytes` of buffer (at least one line).
inline int64_t chunk_lines(int64_t line_bytes, int64_t budget) {
  return std::max<int64_t>(1, budget / std::max<int64_t>(line_bytes, 1));
}

// Patches of output lines [l0, l1) (line = n * Ho + oh) into cols, one row per output pixel.
void im2col(const Window2d& g, const float* x, int64_t l0, int64_t l1, float* cols) {
  const int64_t C = g.c, run = g.kw * C, K = g.kh * run;
#pragma omp parallel for schedule(static) if ((l1 - l0) * g.wo * K > kParallelMin)
  for (int64_t l = l0; l < l1; ++l) {
    const int64_t n = l / g.ho, oh = l % g.ho;
    const float* xn = x + n * g.h * g.w * C;
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      float* row = cols + ((l - l0) * g.wo + ow) * K;
      const int64_t iw0 = ow * g.sw - g.pad_left;
      const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min(g.kw, g.w - iw0);
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        float* dst = row + kh * run;
        const int64_t ih = oh * g.sh - g.pad_top + kh;
        if (ih < 0 || ih >= g.h || kw1 <= kw0) {
          std::fill(dst, dst + run, 0.0f);
          continue;
        }
        const float* src = xn + (ih * g.w + iw0 + kw0) * C;
        std::fill(dst, dst + kw0 * C, 0.0f);
        std::copy(src, src + (kw1 - kw0) * C, dst + kw0 * C);
        std::fill(dst + kw1 * C, dst + run, 0.0f);
      }
    }
  }
}

// dx += col2im(dcols) for output lines [l0, l1). Each thread owns whole input lines (n, ih) and
// adds every patch run that lands on them, so no two threads ever write the same element of dx.
void col2im_add(const Window2d& g, const float* dcols, int64_t l0, int64_t l1, float* dx) {
  const int64_t C = g.c, run = g.kw * C, K = g.kh * run;
  const int64_t n0 = l0 / g.ho, n1 = (l1 - 1) / g.ho;  // images this chunk touches
  const int64_t tasks = (n1 - n0 + 1) * g.h;
#pragma omp parallel for schedule(static) if ((l1 - l0) * g.wo * K > kParallelMin)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t n = n0 + t / g.h, ih = t % g.h;
    const int64_t oh_lo = std::max<int64_t>(l0 - n * g.ho, 0), oh_hi = std::min(l1 - n * g.ho, g.ho);
    float* dxl = dx + (n * g.h + ih) * g.w * C;
    for (int64_t kh = 0; kh < g.kh; ++kh) {
      const int64_t s = ih + g.pad_top - kh;  // = oh * sh when this kernel row reaches ih
      if (s < 0 || s % g.sh) continue;
      const int64_t oh = s / g.sh;
      if (oh < oh_lo || oh >= oh_hi) continue;
      const float* drow = dcols + (n * g.ho + oh - l0) * g.wo * K + kh * run;
      for (int64_t ow = 0; ow < g.wo; ++ow) {
        const int64_t iw0 = ow * g.sw - g.pad_left;
        const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min(g.kw, g.w - iw0);
        if (kw1 <= kw0) continue;
        // (kw, c) is contiguous in both the patch row and the input line: one flat add.
        const float* src = drow + ow * K + kw0 * C;
        float* dst = dxl + (iw0 + kw0) * C;
        const int64_t len = (kw1 - kw0) * C;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) dst[i] += src[i];
      }
    }
  }
}

// C (rows, cout) = A (rows, K) @ kernel (K, cout) + bias, the bias pre-filled so the GEMM adds onto it.
void gemm_bias(int64_t rows, int64_t K, int64_t cout, const float* A, const float* kernel,
               const float* bias, float* C) {
  if (bias) {
#pragma omp parallel for schedule(static) if (rows * cout > kParallelMin)
    for (int64_t r = 0; r < rows; ++r) std::copy(bias, bias + cout, C + r * cout);
  }
  sgemm(false, false, rows, cout, K, 1.0f, A, K, kernel, cout, bias ? 1.0f : 0.0f, C, cout);
}

// out[c] = sum_r dy[r, c], double accumulators, per-thread partials summed in thread order so the
// result does not depend on scheduling.
void column_sums(const float* dy, int64_t rows, int64_t cols, float* out) {
  const int nt = rows * cols > kParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> part(static_cast<size_t>(nt) * cols, 0.0);
  int used = 1;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
#pragma omp single
    used = omp_get_num_threads();
    double* acc = part.data() + t * cols;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* d = dy + r * cols;
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) acc[c] += d[c];
    }
  }
  for (int64_t c = 0; c < cols; ++c) {
    double s = 0.0;
    for (int t = 0; t < used; ++t) s += part[t * cols + c];
    out[c] = static_cast<float>(s);
  }
}

}  // namespace

void conv2d_forward(const Window2d& g, int64_t cout, const float* x, const float* kernel,
                    const float* bias, float* y) {
  const int64_t lines = g.n * g.ho, M = lines * g.wo, K = g.kh * g.kw * g.c;
  if (M == 0 || cout == 0) return;
  if (K == 0) {  // no input channels: only the bias remains
    for (int64_t r = 0; r < M; ++r)
      for (int64_t c = 0; c < cout; ++c) y[r * cout + c] = bias ? bias[c] : 0.0f;
    return;
  }
  if (is_pointwise(g)) return gemm_bias(M, K, cout, x, kernel, bias, y);
  const int64_t step = std::min(lines, chunk_lines(g.wo * K * 4, kColumnBudget));
  auto cols = scratch(step * g.wo * K);
  for (int64_t l0 = 0; l0 < lines; l0 += step) {
    const int64_t l1 = std::min(lines, l0 + step);
    im2col(g, x, l0, l1, cols.get());
    gemm_bias((l1 - l0) * g.wo, K, cout, cols.get(), kernel, bias, y + l0 * g.wo * cout);
  }
}

void conv2d_backward(const Window2d& g, int64_t cout, const float* dy, const float* x,
                     const float* kernel, float* dx, float* dkernel, float* dbias) {
  const int64_t lines = g.n * g.ho, M = lines * g.wo, K = g.kh * g.kw * g.c;
  column_sums(dy, M, cout, dbias);
  if (K == 0) return;  // dx and dkernel are empty
  if (M == 0 || cout == 0) {
    std::fill(dkernel, dkernel + K * cout, 0.0f);
    if (dx) std::fill(dx, dx + g.n * g.h * g.w * g.c, 0.0f);
    return;
  }
  if (is_pointwise(g)) {
    sgemm(true, false, K, cout, M, 1.0f, x, K, dy, cout, 0.0f, dkernel, cout);
    if (dx) sgemm(false, true, M, K, cout, 1.0f, dy, cout, kernel, cout, 0.0f, dx, K);
    return;
  }
  if (dx) {
    const int64_t total = g.n * g.h * g.w * g.c;
#pragma omp parallel for schedule(static) if (total > kParallelMin)
    for (int64_t i = 0; i < total; ++i) dx[i] = 0.0f;
  }
  // Two buffers (patches and their gradients) share the budget.
  const int64_t step = std::min(lines, chunk_lines(g.wo * K * 4, dx ? kColumnBudget / 2 : kColumnBudget));
  auto cols = scratch(step * g.wo * K);
  auto dcols = dx ? scratch(step * g.wo * K) : nullptr;
  for (int64_t l0 = 0; l0 < lines; l0 += step) {
    const int64_t l1 = std::min(lines, l0 + step), rows = (l1 - l0) * g.wo;
    const float* dyc = dy + l0 * g.wo * cout;
    im2col(g, x, l0, l1, cols.get());
    // dkernel (K, cout) += cols^T @ dy, summed over chunks.
    sgemm(true, false, K, cout, rows, 1.0f, cols.get(), K, dyc, cout, l0 == 0 ? 0.0f : 1.0f, dkernel, cout);
    if (dx) {
      // dcols (rows, K) = dy @ kernel^T, then scattered back onto the pixels each patch came from.
      sgemm(false, true, rows, K, cout, 1.0f, dyc, cout, kernel, cout, 0.0f, dcols.get(), K);
      col2im_add(g, dcols.get(), l0, l1, dx);
    }
  }
}

}  // namespace forgenet

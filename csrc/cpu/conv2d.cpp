// Convolution as im2col + large GEMMs (forgenet::sgemm).
// A row of the column matrix is one output pixel (n, oh, ow), in y's own order, so the GEMM
// cols (rows, KH*KW*Cin [+1]) @ kernel (KH*KW*Cin [+1], Cout) writes y in place; the optional extra
// column of ones meets a bias row appended to the kernel, so the bias costs no pass of its own. In NHWC
// a patch row is KH runs of KW*Cin contiguous floats of x, so im2col is KH copies per pixel (or, when
// the runs are a few floats, one strided walk per kernel tap and line). Work goes in chunks of whole
// output lines (n, oh), as many as fit kColumnBudget, so the buffer stays bounded for any batch while
// the GEMMs stay as large as possible. A 1x1 stride-1 conv needs no im2col: x already is the matrix.
// Backward: dkernel = cols^T @ dy, dbias = column sums of dy, dx = col2im(dy @ kernel^T), where
// col2im gathers per input line so threads never write the same element.
#include "cpu/conv2d.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <memory>
#include <vector>

#include "common/workspace.h"
#include "cpu/gemm.h"

namespace forgenet {

namespace {

constexpr int64_t kColumnBudget = 32ll << 20;  // bytes of column buffers per call
constexpr int64_t kParallelMin = 32768;         // floats of work below which threads cost more than they save

// Grow-only, 64-byte aligned buffers kept per calling thread: allocating megabytes per call costs page
// faults (mmap + zeroed pages) comparable to the im2col itself. A thread holds at most kColumnBudget
// plus a kernel copy. Slot 0: patches, 1: their gradients, 2: kernel with its bias row.
float* scratch(int slot, int64_t n) {
  static const char* what[3] = {"conv2d's im2col columns", "conv2d's column gradients", "conv2d's kernel with its bias row"};
  thread_local GrowBuffer buffers[3];  // consistent after a failed growth: the next call retries
  return buffers[slot].get(n, what[slot]);
}

inline bool is_pointwise(const Window2d& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1;  // no padding either way
}

// Whole output lines per chunk when each line costs `line_bytes` of buffer (at least one line).
inline int64_t chunk_lines(int64_t line_bytes, int64_t budget) {
  return std::max<int64_t>(1, budget / std::max<int64_t>(line_bytes, 1));
}

// Copies n floats. Runs in im2col are often tiny (KW * Cin = 3 for a grayscale 3x3 kernel), where a
// memcpy call costs more than the copy, so short runs are fixed-size moves (a plain loop would be
// turned back into a memcpy call by the compiler).
inline void copy_run(float* __restrict dst, const float* __restrict src, int64_t n) {
  if (n >= 64) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) std::memcpy(dst + i, src + i, 8 * sizeof(float));
  if (n & 4) std::memcpy(dst + i, src + i, 4 * sizeof(float)), i += 4;
  if (n & 2) std::memcpy(dst + i, src + i, 2 * sizeof(float)), i += 2;
  if (n & 1) dst[i] = src[i];
}

// Output columns [lo, hi) whose kernel column kw lands inside the input: 0 <= ow * SW - pad_left + kw < W.
inline void tap_columns(const Window2d& g, int64_t kw, int64_t& lo, int64_t& hi) {
  const int64_t a = g.pad_left - kw, b = g.w + g.pad_left - kw;
  lo = std::min(g.wo, a > 0 ? (a + g.sw - 1) / g.sw : 0);
  hi = std::max(lo, std::min(g.wo, b > 0 ? (b + g.sw - 1) / g.sw : 0));
}

// When KW * Cin is a few floats (a grayscale or RGB first layer), a copy per pixel and kernel row is
// mostly overhead; im2col and col2im then walk one kernel tap across a whole line instead.
constexpr int64_t kTapWalkBelow = 16;

// One output line's patch rows (row stride ld), tap by tap.
void im2col_line_by_tap(const Window2d& g, const float* xn, int64_t oh, int64_t ld, float* rows) {
  const int64_t C = g.c;
  for (int64_t kh = 0; kh < g.kh; ++kh) {
    const int64_t ih = oh * g.sh - g.pad_top + kh;
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      float* col = rows + (kh * g.kw + kw) * C;
      int64_t lo = g.wo, hi = g.wo;
      if (ih >= 0 && ih < g.h) tap_columns(g, kw, lo, hi);
      for (int64_t ow = 0; ow < lo; ++ow)
        for (int64_t c = 0; c < C; ++c) col[ow * ld + c] = 0.0f;
      if (hi > lo) {
        const int64_t base = (ih * g.w - g.pad_left + kw) * C;  // + ow * SW * C is inside x for ow in [lo, hi)
        if (C == 1) {
          for (int64_t ow = lo; ow < hi; ++ow) col[ow * ld] = xn[base + ow * g.sw];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow)
            for (int64_t c = 0; c < C; ++c) col[ow * ld + c] = xn[base + ow * g.sw * C + c];
        }
      }
      for (int64_t ow = hi; ow < g.wo; ++ow)
        for (int64_t c = 0; c < C; ++c) col[ow * ld + c] = 0.0f;
    }
  }
}

// Patches of output lines [l0, l1) (line = n * Ho + oh) into cols, one row of `ld` floats per output
// pixel: KH*KW*Cin patch values, then (when `ones`) a 1 that multiplies the bias row of the kernel.
void im2col(const Window2d& g, const float* x, int64_t l0, int64_t l1, int64_t ld, bool ones, float* cols) {
  const int64_t C = g.c, run = g.kw * C;
#pragma omp parallel for schedule(static) if ((l1 - l0) * g.wo * ld > kParallelMin)
  for (int64_t l = l0; l < l1; ++l) {
    const int64_t n = l / g.ho, oh = l % g.ho;
    const float* xn = x + n * g.h * g.w * C;
    float* rows = cols + (l - l0) * g.wo * ld;
    if (run < kTapWalkBelow) {
      im2col_line_by_tap(g, xn, oh, ld, rows);
      if (ones)
        for (int64_t ow = 0; ow < g.wo; ++ow) rows[ow * ld + g.kh * run] = 1.0f;
      continue;
    }
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      float* row = rows + ow * ld;
      const int64_t iw0 = ow * g.sw - g.pad_left;
      const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min(g.kw, g.w - iw0);
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        float* dst = row + kh * run;
        const int64_t ih = oh * g.sh - g.pad_top + kh;
        if (ih < 0 || ih >= g.h || kw1 <= kw0) {
          std::fill(dst, dst + run, 0.0f);
          continue;
        }
        std::fill(dst, dst + kw0 * C, 0.0f);
        copy_run(dst + kw0 * C, xn + (ih * g.w + iw0 + kw0) * C, (kw1 - kw0) * C);
        std::fill(dst + kw1 * C, dst + run, 0.0f);
      }
      if (ones) row[g.kh * run] = 1.0f;
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
      if (run < kTapWalkBelow) {
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          int64_t lo, hi;
          tap_columns(g, kw, lo, hi);
          if (hi <= lo) continue;
          const float* src = drow + kw * C;
          const int64_t base = (kw - g.pad_left) * C;  // + ow * SW * C is inside the line for ow in [lo, hi)
          for (int64_t ow = lo; ow < hi; ++ow)
            for (int64_t c = 0; c < C; ++c) dxl[base + ow * g.sw * C + c] += src[ow * K + c];
        }
        continue;
      }
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

// C (rows, cout) = A (rows, K) @ kernel (K, cout) + bias, the bias pre-filled so the GEMM adds onto it
// (the 1x1 path, where A is x itself and has no room for a column of ones).
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
  std::vector<double> part = workspace_vector<double>(mul_sat(nt, cols), "conv2d's per-thread bias sums");
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
  // mul_sat: with no output the window may be huge (an empty kernel), and nothing below runs
  const int64_t lines = g.n * g.ho, M = lines * g.wo, K = mul_sat(mul_sat(g.kh, g.kw), g.c);
  if (M == 0 || cout == 0) return;
  if (K == 0) {  // no input channels: only the bias remains
    for (int64_t r = 0; r < M; ++r)
      for (int64_t c = 0; c < cout; ++c) y[r * cout + c] = bias ? bias[c] : 0.0f;
    return;
  }
  if (is_pointwise(g)) return gemm_bias(M, K, cout, x, kernel, bias, y);
  // With a bias, each patch row gets a trailing 1 and the kernel a trailing bias row, so the GEMM
  // adds the bias for free instead of a separate pass over y.
  const int64_t ld = bias ? K + 1 : K;
  const float* kb = kernel;
  if (bias) {
    float* k1 = scratch(2, ld * cout);
    std::copy(kernel, kernel + K * cout, k1);
    std::copy(bias, bias + cout, k1 + K * cout);
    kb = k1;
  }
  const int64_t step = std::min(lines, chunk_lines(g.wo * ld * 4, kColumnBudget));
  float* cols = scratch(0, step * g.wo * ld);
  for (int64_t l0 = 0; l0 < lines; l0 += step) {
    const int64_t l1 = std::min(lines, l0 + step);
    im2col(g, x, l0, l1, ld, bias != nullptr, cols);
    sgemm(false, false, (l1 - l0) * g.wo, cout, ld, 1.0f, cols, ld, kb, cout, 0.0f, y + l0 * g.wo * cout, cout);
  }
}

void conv2d_backward(const Window2d& g, int64_t cout, const float* dy, const float* x,
                     const float* kernel, float* dx, float* dkernel, float* dbias) {
  const int64_t lines = g.n * g.ho, M = lines * g.wo, K = mul_sat(mul_sat(g.kh, g.kw), g.c);
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
  float* cols = scratch(0, step * g.wo * K);
  float* dcols = dx ? scratch(1, step * g.wo * K) : nullptr;
  for (int64_t l0 = 0; l0 < lines; l0 += step) {
    const int64_t l1 = std::min(lines, l0 + step), rows = (l1 - l0) * g.wo;
    const float* dyc = dy + l0 * g.wo * cout;
    im2col(g, x, l0, l1, K, false, cols);
    // dkernel (K, cout) += cols^T @ dy, summed over chunks.
    sgemm(true, false, K, cout, rows, 1.0f, cols, K, dyc, cout, l0 == 0 ? 0.0f : 1.0f, dkernel, cout);
    if (dx) {
      // dcols (rows, K) = dy @ kernel^T, then scattered back onto the pixels each patch came from.
      sgemm(false, true, rows, K, cout, 1.0f, dyc, cout, kernel, cout, 0.0f, dcols, K);
      col2im_add(g, dcols, l0, l1, dx);
    }
  }
}

}  // namespace forgenet

// Memory-bound loops: the compiler vectorises the selects and adds (the mask is a compare + and, no
// branch); a second thread pays only above a few MB (see embedding.cpp: waking one costs more than a
// small pass on a busy machine).
#include "cpu/pointwise.h"


#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"

namespace forgenet {

namespace {

constexpr int64_t kParallelFloats = int64_t(1) << 20;

// Both loads unconditional, so the select is a compare and an and (a conditional load of g would be a
// branch, mispredicted on half the elements of a ReLU mask: 10x slower than numpy's two passes).
inline void mask_span(const float* g, const float* y, float* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float gv = g[i], yv = y[i];
    out[i] = yv > 0.0f ? gv : 0.0f;
  }
}

// db += column sums of rows [r0, r1) of a (rows x cols): rows in order, each column summed in float as
// a GEMM epilogue would.
inline void add_columns(const float* a, float* __restrict db, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict row = a + r * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) db[j] += row[j];
  }
}

inline void relu_span(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = v < 0.0f ? 0.0f : v;  // NaN < 0 is false: NaN stays
  }
}

}  // namespace

void relu_inplace(float* x, int64_t n) {
  if (n <= 0) return;
  if (n <= kParallelFloats) {
    relu_span(x, n);
    return;
  }
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) relu_span(x + c * kChunk, std::min(kChunk, n - c * kChunk));
  });
}

void relu_backward(const float* g, const float* y, float* out, int64_t n) {
  if (n <= 0) return;
  if (n <= kParallelFloats) {
    mask_span(g, y, out, n);
    return;
  }
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i0 = c * kChunk;
      mask_span(g + i0, y + i0, out + i0, std::min(kChunk, n - i0));
    }
  });
}

void bias_relu_backward(const float* g, const float* y, float* out, float* db, int64_t rows, int64_t cols,
                        bool relu) {
  std::fill(db, db + cols, 0.0f);
  if (rows <= 0 || cols <= 0) return;
  if (relu) {
    relu_backward(g, y, out, rows * cols);
  } else if (out != g) {
    std::memcpy(out, g, sizeof(float) * rows * cols);
  }
  // Fixed blocks of rows, each summed on its own and then added in block order, so the result is the
  // same for any thread count (the blocks do not depend on it).
  constexpr int64_t kBlockRows = 256;
  const int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  if (blocks == 1 || rows * cols <= kParallelFloats) {
    add_columns(out, db, 0, rows, cols);
    return;
  }
  std::vector<float> part(static_cast<size_t>(blocks * cols), 0.0f);
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      add_columns(out, part.data() + b * cols, b * kBlockRows, std::min(rows, (b + 1) * kBlockRows), cols);
  });
  for (int64_t b = 0; b < blocks; ++b) add_columns(part.data(), db, b, b + 1, cols);
}

}  // namespace forgenet

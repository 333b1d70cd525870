// Convolution as im2col + sgemm (cuda/gemm.h), like the CPU kernel. A row of the column matrix is one
// output pixel (n, oh, ow), in y's order, and its K = KH*KW*Cin columns are the patch in (kh, kw, ci)
// order, which is the kernel's row order, so
//   y      = cols @ kernel (+ bias)           (rows, Cout)
//   dkernel = cols^T @ dy                      (K, Cout), accumulated over chunks
//   dcols  = dy @ kernel^T, dx = col2im(dcols)
//   dbias  = column sums of dy
// Without dx (a first layer) the dcols buffer, its gemm and col2im are skipped.
// Work goes in chunks of whole output lines (n, oh) so the column buffer stays within kColumnBudget
// for any batch. col2im gathers (each dx element sums the patch entries that came from it), so it needs
// no atomics and is deterministic. A 1x1 stride-1 conv needs no im2col: x already is the matrix.
#include "cuda/common.cuh"
#include "cuda/conv2d.h"
#include "cuda/gemm.h"

#include <algorithm>

namespace forgenet::gpu {

namespace {

#ifndef FORGENET_CONV_COLUMN_BUDGET
#define FORGENET_CONV_COLUMN_BUDGET (64ll << 20)  // floats (256 MiB); tests/cuda_emu shrinks it to test chunking
#endif
constexpr int64_t kColumnBudget = FORGENET_CONV_COLUMN_BUDGET;  // floats of column buffer per chunk
constexpr int64_t kBiasChunk = 1024;           // rows per partial sum of dbias

inline bool is_pointwise(const Window& g) { return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1; }
__host__ __device__ inline int64_t patch(const Window& g) { return g.kh * g.kw * g.c; }
inline int64_t lines(const Window& g) { return g.n * g.ho; }
inline int64_t chunk_lines(const Window& g) {
  const int64_t line = std::max<int64_t>(g.wo * patch(g), 1);
  return std::max<int64_t>(1, std::min(lines(g), kColumnBudget / line));
}
inline int64_t cols_floats(const Window& g) { return chunk_lines(g) * g.wo * patch(g); }
inline int64_t bias_partials(const Window& g) { return (lines(g) * g.wo + kBiasChunk - 1) / kBiasChunk; }

// cols[(l - l0) * Wo + ow][(kh * KW + kw) * C + ci] = x[n, oh*SH - pad + kh, ow*SW - pad + kw, ci] or 0.
__global__ void __launch_bounds__(kThreads) im2col(Window g, const float* __restrict__ x, int64_t l0, int64_t l1,
                                                   float* __restrict__ cols) {
  const int64_t K = patch(g), total = (l1 - l0) * g.wo * K;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = e % K, row = e / K;
    const int64_t ci = k % g.c, kw = k / g.c % g.kw, kh = k / (g.c * g.kw);
    const int64_t ow = row % g.wo, l = l0 + row / g.wo, oh = l % g.ho, n = l / g.ho;
    const int64_t ih = oh * g.sh - g.pad_top + kh, iw = ow * g.sw - g.pad_left + kw;
    cols[e] = (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) ? x[((n * g.h + ih) * g.w + iw) * g.c + ci] : 0.0f;
  }
}

// dx[n, ih, iw, ci] += sum of dcols entries that im2col copied from it, over output lines [l0, l1).
// Covers the images that chunk touches; each thread owns one dx element.
__global__ void __launch_bounds__(kThreads) col2im_add(Window g, const float* __restrict__ dcols, int64_t l0,
                                                       int64_t l1, float* __restrict__ dx) {
  const int64_t K = patch(g), n0 = l0 / g.ho, n1 = (l1 - 1) / g.ho;
  const int64_t per_image = g.h * g.w * g.c, total = (n1 - n0 + 1) * per_image;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ci = e % g.c, iw = e / g.c % g.w, ih = e / (g.c * g.w) % g.h, n = n0 + e / per_image;
    float s = 0.0f;
    for (int64_t kh = 0; kh < g.kh; ++kh) {
      const int64_t th = ih + g.pad_top - kh;  // = oh * SH when kernel row kh of output row oh reads ih
      if (th < 0 || th % g.sh) continue;
      const int64_t oh = th / g.sh, l = n * g.ho + oh;
      if (oh >= g.ho || l < l0 || l >= l1) continue;
      for (int64_t kw = 0; kw < g.kw; ++kw) {
        const int64_t tw = iw + g.pad_left - kw;
        if (tw < 0 || tw % g.sw) continue;
        const int64_t ow = tw / g.sw;
        if (ow >= g.wo) continue;
        s += dcols[((l - l0) * g.wo + ow) * K + (kh * g.kw + kw) * g.c + ci];
      }
    }
    dx[n * per_image + ih * g.w * g.c + iw * g.c + ci] += s;
  }
}

__global__ void __launch_bounds__(kThreads) fill_rows(int64_t rows, int64_t cout, const float* __restrict__ bias,
                                                      float* __restrict__ y) {
  const int64_t total = rows * cout;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[e] = bias[e % cout];
}

// partial[p][co] = sum of dy[r][co] over rows r in chunk p (kBiasChunk rows), in double.
__global__ void __launch_bounds__(kThreads) colsum_partial(int64_t rows, int64_t cout, const float* __restrict__ dy,
                                                           int64_t parts, float* __restrict__ partial) {
  const int64_t total = parts * cout;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t co = e % cout, p = e / cout;
    const int64_t r1 = (p + 1) * kBiasChunk < rows ? (p + 1) * kBiasChunk : rows;
    double s = 0.0;
    for (int64_t r = p * kBiasChunk; r < r1; ++r) s += dy[r * cout + co];
    partial[e] = static_cast<float>(s);
  }
}

__global__ void __launch_bounds__(kThreads) colsum_final(int64_t cout, int64_t parts, const float* __restrict__ partial,
                                                         float* __restrict__ out) {
  for (int64_t co = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; co < cout;
       co += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double s = 0.0;
    for (int64_t p = 0; p < parts; ++p) s += partial[p * cout + co];
    out[co] = static_cast<float>(s);
  }
}

#define FORGENET_TRY(expr)                    \
  do {                                        \
    const cudaError_t err_ = (expr);          \
    if (err_ != cudaSuccess) return err_;     \
  } while (0)

}  // namespace

int64_t conv2d_forward_workspace_floats(const Window& g, int64_t cout) {
  if (lines(g) * g.wo <= 0 || cout <= 0) return 0;
  if (is_pointwise(g)) return sgemm_workspace_floats(g.n * g.h * g.w, cout, g.c);
  const int64_t rows = chunk_lines(g) * g.wo;
  return cols_floats(g) + sgemm_workspace_floats(rows, cout, patch(g));
}

int64_t conv2d_backward_workspace_floats(const Window& g, int64_t cout, bool need_dx) {
  if (lines(g) * g.wo <= 0 || cout <= 0) return 0;
  const int64_t rows = is_pointwise(g) ? g.n * g.h * g.w : chunk_lines(g) * g.wo;
  int64_t gemm = sgemm_workspace_floats(patch(g), cout, rows);
  if (need_dx) gemm = std::max(gemm, sgemm_workspace_floats(rows, patch(g), cout));
  const int64_t bias = bias_partials(g) * cout;
  return (is_pointwise(g) ? 0 : (need_dx ? 2 : 1) * cols_floats(g)) + std::max(gemm, bias);
}

cudaError_t conv2d_forward(const Window& g, int64_t cout, const float* x, const float* kernel, const float* bias,
                           float* y, float* ws, int64_t ws_floats, cudaStream_t stream) {
  const int64_t K = patch(g), total_rows = lines(g) * g.wo;
  if (total_rows <= 0 || cout <= 0) return cudaSuccess;
  if (ws_floats < conv2d_forward_workspace_floats(g, cout)) return cudaErrorInvalidValue;
  if (bias) {
    FORGENET_LAUNCH(fill_rows, blocks_for(total_rows * cout), kThreads, stream, total_rows, cout, bias, y);
    FORGENET_TRY(launch_status());
  }
  const float beta = bias ? 1.0f : 0.0f;
  if (is_pointwise(g))
    return sgemm(false, false, total_rows, cout, K, 1.0f, x, K, kernel, cout, beta, y, cout, y, cout, ws, ws_floats,
                 stream);
  const int64_t step = chunk_lines(g), cols_n = cols_floats(g);
  float* cols = ws;
  for (int64_t l0 = 0; l0 < lines(g); l0 += step) {
    const int64_t l1 = std::min(lines(g), l0 + step), rows = (l1 - l0) * g.wo;
    if (rows * K > 0) {
      FORGENET_LAUNCH(im2col, blocks_for(rows * K), kThreads, stream, g, x, l0, l1, cols);
      FORGENET_TRY(launch_status());
    }
    float* yc = y + l0 * g.wo * cout;
    FORGENET_TRY(sgemm(false, false, rows, cout, K, 1.0f, cols, K, kernel, cout, beta, yc, cout, yc, cout,
                       ws + cols_n, ws_floats - cols_n, stream));
  }
  return cudaSuccess;
}

cudaError_t conv2d_backward(const Window& g, int64_t cout, const float* dy, const float* x, const float* kernel,
                            float* dx, float* dk, float* db, float* ws, int64_t ws_floats, cudaStream_t stream) {
  const int64_t K = patch(g), total_rows = lines(g) * g.wo;
  const int64_t x_floats = g.n * g.h * g.w * g.c;
  const bool need_dx = dx != nullptr;
  if (need_dx && x_floats > 0) FORGENET_TRY(cudaMemsetAsync(dx, 0, x_floats * sizeof(float), stream));
  if (K * cout > 0) FORGENET_TRY(cudaMemsetAsync(dk, 0, K * cout * sizeof(float), stream));
  if (db && cout > 0) FORGENET_TRY(cudaMemsetAsync(db, 0, cout * sizeof(float), stream));
  if (total_rows <= 0 || cout <= 0) return cudaSuccess;
  if (ws_floats < conv2d_backward_workspace_floats(g, cout, need_dx)) return cudaErrorInvalidValue;

  // dbias first, using the workspace before the column buffers need it.
  if (db) {
    const int64_t parts = bias_partials(g);
    FORGENET_LAUNCH(colsum_partial, blocks_for(parts * cout), kThreads, stream, total_rows, cout, dy, parts, ws);
    FORGENET_TRY(launch_status());
    FORGENET_LAUNCH(colsum_final, blocks_for(cout), kThreads, stream, cout, parts, ws, db);
    FORGENET_TRY(launch_status());
  }
  if (K <= 0) return cudaSuccess;  // no input channels: dx and dkernel are empty

  if (is_pointwise(g)) {
    FORGENET_TRY(sgemm(true, false, K, cout, total_rows, 1.0f, x, K, dy, cout, 0.0f, nullptr, cout, dk, cout, ws,
                       ws_floats, stream));
    if (!need_dx) return cudaSuccess;
    return sgemm(false, true, total_rows, K, cout, 1.0f, dy, cout, kernel, cout, 0.0f, nullptr, K, dx, K, ws,
                 ws_floats, stream);
  }
  const int64_t step = chunk_lines(g), cols_n = cols_floats(g);
  float* cols = ws;
  float* dcols = need_dx ? ws + cols_n : nullptr;
  float* gemm_ws = ws + (need_dx ? 2 : 1) * cols_n;
  const int64_t gemm_n = ws_floats - (need_dx ? 2 : 1) * cols_n;
  for (int64_t l0 = 0; l0 < lines(g); l0 += step) {
    const int64_t l1 = std::min(lines(g), l0 + step), rows = (l1 - l0) * g.wo;
    const float* dyc = dy + l0 * g.wo * cout;
    FORGENET_LAUNCH(im2col, blocks_for(rows * K), kThreads, stream, g, x, l0, l1, cols);
    FORGENET_TRY(launch_status());
    FORGENET_TRY(sgemm(true, false, K, cout, rows, 1.0f, cols, K, dyc, cout, l0 ? 1.0f : 0.0f, dk, cout, dk, cout,
                       gemm_ws, gemm_n, stream));
    if (!need_dx) continue;
    FORGENET_TRY(sgemm(false, true, rows, K, cout, 1.0f, dyc, cout, kernel, cout, 0.0f, nullptr, K, dcols, K,
                       gemm_ws, gemm_n, stream));
    const int64_t n0 = l0 / g.ho, n1 = (l1 - 1) / g.ho;
    FORGENET_LAUNCH(col2im_add, blocks_for((n1 - n0 + 1) * g.h * g.w * g.c), kThreads, stream, g, dcols, l0, l1, dx);
    FORGENET_TRY(launch_status());
  }
  return cudaSuccess;
}

}  // namespace forgenet::gpu

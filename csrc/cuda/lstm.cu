// LSTM through time as the CPU kernel (cpu/lstm.cpp) does it, with sgemm (cuda/gemm.h) for every product:
//   forward:  reserve[:, :, :4U] = x @ kernel             one GEMM over all N*T rows
//             per step t: reserve[:, t, :4U] += h_{t-1} @ recurrent_kernel   (GEMM, beta = 1, in place)
//                         fwd_step: + bias, activations, c_t, h_t -> reserve[:, t], y[:, t]
//   backward: per step t (reverse): bwd_step -> dz[:, t] (pre-activation grads), dc in place, h_{t-1}
//                         dh = dz[:, t] @ recurrent_kernel^T            (GEMM)
//             then dkernel = x^T dz, drecurrent_kernel = hp^T dz, dx = dz kernel^T over all N*T rows at once,
//             dbias = column sums of dz (two fixed-order stages: deterministic, no atomics).
// The reserve doubles as the gate buffer, so forward needs no scratch beyond GEMM split-K space. h_{t-1}
// for backward (hp) is recomputed from the reserve as o * tanh(c): the very value forward produced.
// The activations are the CPU's Cephes polynomials (common/activations.h, one source for both devices),
// so both agree to a few float ulps and handle NaN / huge inputs alike.
#include "common/activations.h"
#include "common/shapes.h"
#include "cuda/common.cuh"
#include "cuda/gemm.h"
#include "cuda/lstm.h"

#include <algorithm>
#include <cstring>

namespace forgenet::gpu {

namespace {

constexpr int64_t kGates = kLstmReserveGates;  // reserve row = 5U floats, the layout common/shapes.h fixes
constexpr int64_t kBiasChunk = 1024;   // rows of dz per partial sum of dbias

using act::sigmoid_approx;
using act::tanh_approx;

#define FORGENET_GRID_STRIDE(e, total)                                               \
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < (total); \
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)

__global__ void __launch_bounds__(kThreads) activations(const float* __restrict__ x, float* __restrict__ sig,
                                                        float* __restrict__ tnh, int64_t n) {
  FORGENET_GRID_STRIDE(e, n) {
    sig[e] = sigmoid_approx(x[e]);
    tnh[e] = tanh_approx(x[e]);
  }
}

// Step t for every (n, u): the reserve row already holds x W + h_{t-1} R; add the bias, activate, and
// overwrite it with [i f g o c]; h_t goes to y (and, at the last step, h_T / c_T).
__global__ void __launch_bounds__(kThreads) fwd_step(int64_t N, int64_t T, int64_t U, int64_t t,
                                                     const float* __restrict__ bias, const float* __restrict__ c0,
                                                     float* __restrict__ reserve, float* __restrict__ y, float* h_T,
                                                     float* c_T) {
  const int64_t RS = kGates * U;
  FORGENET_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, u = e - n * U;
    float* r = reserve + (n * T + t) * RS + u;
    const float cp = t ? r[4 * U - RS] : c0[e];
    const float i = sigmoid_approx(r[0] + bias[u]);
    const float f = sigmoid_approx(r[U] + bias[U + u]);
    const float g = tanh_approx(r[2 * U] + bias[2 * U + u]);
    const float o = sigmoid_approx(r[3 * U] + bias[3 * U + u]);
    const float c = f * cp + i * g;
    const float h = o * tanh_approx(c);
    r[0] = i;
    r[U] = f;
    r[2 * U] = g;
    r[3 * U] = o;
    r[4 * U] = c;
    y[(n * T + t) * U + u] = h;
    if (h_T) {
      h_T[e] = h;
      c_T[e] = c;
    }
  }
}

// Backward step t for every (n, u). dh is the gradient reaching h_t from step t+1 (dy[t] is added here),
// dc the one reaching c_t, updated in place to reach c_{t-1}. dz rows get the pre-activation gradients;
// hp (N,T,U) gets h_t at step t+1 (and h0 at step 0), the left operand of drecurrent_kernel.
__global__ void __launch_bounds__(kThreads) bwd_step(int64_t N, int64_t T, int64_t U, int64_t t,
                                                     const float* __restrict__ reserve, const float* __restrict__ c0,
                                                     const float* __restrict__ h0, const float* __restrict__ dy,
                                                     const float* __restrict__ dh, float* __restrict__ dc,
                                                     float* __restrict__ dz, float* __restrict__ hp) {
  const int64_t RS = kGates * U, G = 4 * U;
  FORGENET_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, u = e - n * U, row = n * T + t;
    const float* r = reserve + row * RS + u;
    const float i = r[0], f = r[U], g = r[2 * U], o = r[3 * U], c = r[4 * U];
    const float cp = t ? r[4 * U - RS] : c0[e];
    const float tc = tanh_approx(c);
    float dht = dh[e];
    if (dy) dht += dy[row * U + u];
    const float dct = dc[e] + dht * o * (1.0f - tc * tc);
    float* d = dz + row * G + u;
    d[0] = dct * g * i * (1.0f - i);
    d[U] = dct * cp * f * (1.0f - f);
    d[2 * U] = dct * i * (1.0f - g * g);
    d[3 * U] = dht * tc * o * (1.0f - o);
    dc[e] = dct * f;
    if (t + 1 < T) hp[(row + 1) * U + u] = o * tc;
    if (t == 0) hp[row * U + u] = h0[e];
  }
}

// out_a = a (or 0 when a is null), out_b likewise: initial running gradients, and h_T / c_T when T = 0.
__global__ void __launch_bounds__(kThreads) copy_or_zero(int64_t n, const float* __restrict__ a,
                                                         const float* __restrict__ b, float* __restrict__ out_a,
                                                         float* __restrict__ out_b) {
  FORGENET_GRID_STRIDE(e, n) {
    out_a[e] = a ? a[e] : 0.0f;
    out_b[e] = b ? b[e] : 0.0f;
  }
}

// partial[p][j] = sum of dz[m][j] over rows m of chunk p (kBiasChunk rows), in double like the CPU.
__global__ void __launch_bounds__(kThreads) colsum_partial(int64_t rows, int64_t cols, const float* __restrict__ dz,
                                                           int64_t parts, float* __restrict__ partial) {
  FORGENET_GRID_STRIDE(e, parts * cols) {
    const int64_t j = e % cols, p = e / cols;
    const int64_t m1 = (p + 1) * kBiasChunk < rows ? (p + 1) * kBiasChunk : rows;
    double s = 0.0;
    for (int64_t m = p * kBiasChunk; m < m1; ++m) s += dz[m * cols + j];
    partial[e] = static_cast<float>(s);
  }
}

__global__ void __launch_bounds__(kThreads) colsum_final(int64_t cols, int64_t parts, const float* __restrict__ partial,
                                                         float* __restrict__ out) {
  FORGENET_GRID_STRIDE(j, cols) {
    double s = 0.0;
    for (int64_t p = 0; p < parts; ++p) s += partial[p * cols + j];
    out[j] = static_cast<float>(s);
  }
}

#define FORGENET_TRY(expr)                \
  do {                                    \
    const cudaError_t err_ = (expr);      \
    if (err_ != cudaSuccess) return err_; \
  } while (0)

inline int64_t bias_parts(int64_t rows) { return (rows + kBiasChunk - 1) / kBiasChunk; }

}  // namespace

int64_t lstm_forward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U) {
  return std::max(sgemm_workspace_floats(N * T, 4 * U, D), sgemm_workspace_floats(N, 4 * U, U));
}

// dz (N,T,4U), hp (N,T,U), then space shared by the GEMMs' split-K partials and the dbias partials.
int64_t lstm_backward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U) {
  const int64_t M = N * T, G = 4 * U;
  if (M <= 0) return 0;
  const int64_t shared = std::max({sgemm_workspace_floats(N, U, G), sgemm_workspace_floats(D, G, M),
                                   sgemm_workspace_floats(U, G, M), sgemm_workspace_floats(M, D, G),
                                   bias_parts(M) * G});
  return M * G + M * U + shared;
}

cudaError_t lstm_forward(const float* x, const float* h0, const float* c0, const float* W, const float* R,
                         const float* bias, int64_t N, int64_t T, int64_t D, int64_t U, float* y, float* h_T,
                         float* c_T, float* reserve, float* ws, int64_t ws_floats, cudaStream_t stream) {
  const int64_t G = 4 * U, RS = kGates * U;
  if (N * U <= 0) return cudaSuccess;  // every output is empty
  if (ws_floats < lstm_forward_workspace_floats(N, T, D, U)) return cudaErrorInvalidValue;
  if (T == 0) {
    FORGENET_LAUNCH(copy_or_zero, blocks_for(N * U), kThreads, stream, N * U, h0, c0, h_T, c_T);
    return launch_status();
  }
  FORGENET_TRY(sgemm(false, false, N * T, G, D, 1.0f, x, D, W, G, 0.0f, nullptr, 0, reserve, RS, ws, ws_floats,
                     stream));
  for (int64_t t = 0; t < T; ++t) {
    float* r = reserve + t * RS;
    const float* h_prev = t ? y + (t - 1) * U : h0;
    FORGENET_TRY(sgemm(false, false, N, G, U, 1.0f, h_prev, t ? T * U : U, R, G, 1.0f, r, T * RS, r, T * RS, ws,
                       ws_floats, stream));
    const bool last = t + 1 == T;
    FORGENET_LAUNCH(fwd_step, blocks_for(N * U), kThreads, stream, N, T, U, t, bias, c0, reserve, y,
                    last ? h_T : nullptr, last ? c_T : nullptr);
    FORGENET_TRY(launch_status());
  }
  return cudaSuccess;
}

cudaError_t lstm_backward(const float* dy, const float* dh_T, const float* dc_T, const float* x, const float* h0,
                          const float* c0, const float* W, const float* R, const float* reserve, int64_t N, int64_t T,
                          int64_t D, int64_t U, float* dx, float* dh0, float* dc0, float* dk, float* drk, float* db,
                          float* ws, int64_t ws_floats, cudaStream_t stream) {
  const int64_t G = 4 * U, M = N * T;
  if (ws_floats < lstm_backward_workspace_floats(N, T, D, U)) return cudaErrorInvalidValue;
  // dh0 / dc0 double as the running gradients reaching h_t / c_t.
  if (N * U > 0) {
    FORGENET_LAUNCH(copy_or_zero, blocks_for(N * U), kThreads, stream, N * U, dh_T, dc_T, dh0, dc0);
    FORGENET_TRY(launch_status());
  }
  if (M <= 0 || G <= 0) {  // no steps or no units: the weights got no gradient (dx, if any, is zero)
    if (D * G > 0) FORGENET_TRY(cudaMemsetAsync(dk, 0, D * G * sizeof(float), stream));
    if (U * G > 0) FORGENET_TRY(cudaMemsetAsync(drk, 0, U * G * sizeof(float), stream));
    if (G > 0) FORGENET_TRY(cudaMemsetAsync(db, 0, G * sizeof(float), stream));
    if (M * D > 0) FORGENET_TRY(cudaMemsetAsync(dx, 0, M * D * sizeof(float), stream));
    return cudaSuccess;
  }
  float* dz = ws;
  float* hp = dz + M * G;
  float* shared = hp + M * U;
  const int64_t shared_n = ws_floats - M * G - M * U;
  for (int64_t t = T - 1; t >= 0; --t) {
    FORGENET_LAUNCH(bwd_step, blocks_for(N * U), kThreads, stream, N, T, U, t, reserve, c0, h0, dy, dh0, dc0, dz, hp);
    FORGENET_TRY(launch_status());
    FORGENET_TRY(sgemm(false, true, N, U, G, 1.0f, dz + t * G, T * G, R, G, 0.0f, nullptr, 0, dh0, U, shared,
                       shared_n, stream));
  }
  const int64_t parts = bias_parts(M);
  FORGENET_LAUNCH(colsum_partial, blocks_for(parts * G), kThreads, stream, M, G, dz, parts, shared);
  FORGENET_TRY(launch_status());
  FORGENET_LAUNCH(colsum_final, blocks_for(G), kThreads, stream, G, parts, shared, db);
  FORGENET_TRY(launch_status());
  FORGENET_TRY(sgemm(true, false, D, G, M, 1.0f, x, D, dz, G, 0.0f, nullptr, 0, dk, G, shared, shared_n, stream));
  FORGENET_TRY(sgemm(true, false, U, G, M, 1.0f, hp, U, dz, G, 0.0f, nullptr, 0, drk, G, shared, shared_n, stream));
  return sgemm(false, true, M, D, G, 1.0f, dz, G, W, G, 0.0f, nullptr, 0, dx, D, shared, shared_n, stream);
}

cudaError_t lstm_activations(const float* x, float* sig, float* tnh, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  FORGENET_LAUNCH(activations, blocks_for(n), kThreads, stream, x, sig, tnh, n);
  return launch_status();
}

}  // namespace forgenet::gpu

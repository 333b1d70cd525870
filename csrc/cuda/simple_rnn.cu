// SimpleRNN through time as the CPU kernel (cpu/simple_rnn.cpp): y = x @ kernel (one GEMM), then per
// step y[:, t] += h_{t-1} @ R (GEMM, beta = 1, in place) and one pointwise kernel (bias, activation);
// backward: per step dz = (dh + dy) * act'(h), dh = dz R^T, then the weight GEMMs and dbias.
#include "common/activations.h"
#include "cuda/common.cuh"
#include "cuda/gemm.h"
#include "cuda/rnn_common.cuh"
#include "cuda/simple_rnn.h"

#include <algorithm>

namespace forgenet::gpu {

namespace {

using rnn::bias_parts;

__device__ inline float activate(int a, float v) {
  switch (a) {
    case 1: return act::tanh_approx(v);
    case 2: return v > 0.0f ? v : 0.0f;
    case 3: return act::sigmoid_approx(v);
    default: return v;
  }
}

__device__ inline float slope(int a, float h) {
  switch (a) {
    case 1: return 1.0f - h * h;
    case 2: return h > 0.0f ? 1.0f : 0.0f;
    case 3: return h * (1.0f - h);
    default: return 1.0f;
  }
}

__global__ void __launch_bounds__(kThreads) fwd_step(int64_t N, int64_t T, int64_t U, int64_t t, int a,
                                                     const float* __restrict__ b, float* __restrict__ y) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U;
    float* p = y + (n * T + t) * U + j;
    *p = activate(a, *p + b[j]);
  }
}

__global__ void __launch_bounds__(kThreads) bwd_step(int64_t N, int64_t T, int64_t U, int64_t t, int a,
                                                     const float* __restrict__ reserve, const float* __restrict__ h0,
                                                     const float* __restrict__ dy, const float* __restrict__ dh,
                                                     float* __restrict__ dz, float* __restrict__ hp) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U, row = n * T + t;
    float g = dh[e];
    if (dy) g += dy[row * U + j];
    dz[row * U + j] = g * slope(a, reserve[row * U + j]);
    hp[row * U + j] = t ? reserve[(row - 1) * U + j] : h0[e];
  }
}

__global__ void __launch_bounds__(kThreads) gather_last(int64_t N, int64_t T, int64_t U, const float* __restrict__ y,
                                                        float* __restrict__ h_T, float* __restrict__ reserve) {
  FORGENET_RNN_GRID_STRIDE(e, N * T * U) {
    if (reserve) reserve[e] = y[e];
    const int64_t j = e % U, n = e / (T * U), t = (e / U) % T;
    if (t == T - 1) h_T[n * U + j] = y[e];
  }
}

}  // namespace

int64_t simple_rnn_forward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U) {
  return std::max(sgemm_workspace_floats(N * T, U, D), sgemm_workspace_floats(N, U, U));
}

// dz (N,T,U), hp (N,T,U), then the GEMMs' and dbias's shared scratch.
int64_t simple_rnn_backward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U) {
  const int64_t M = N * T;
  if (M <= 0 || U <= 0) return 0;
  const int64_t shared = std::max({sgemm_workspace_floats(N, U, U), sgemm_workspace_floats(D, U, M),
                                   sgemm_workspace_floats(U, U, M), sgemm_workspace_floats(M, D, U),
                                   bias_parts(M) * U});
  return 2 * M * U + shared;
}

cudaError_t simple_rnn_forward(const float* x, const float* h0, const float* W, const float* R, const float* b, int a,
                               int64_t N, int64_t T, int64_t D, int64_t U, float* y, float* h_T, float* reserve,
                               float* ws, int64_t ws_floats, cudaStream_t stream) {
  if (N * U <= 0) return cudaSuccess;
  if (ws_floats < simple_rnn_forward_workspace_floats(N, T, D, U)) return cudaErrorInvalidValue;
  if (T == 0) {
    FORGENET_LAUNCH(rnn::copy_or_zero, blocks_for(N * U), kThreads, stream, N * U, h0, h_T);
    return launch_status();
  }
  FORGENET_RNN_TRY(sgemm(false, false, N * T, U, D, 1.0f, x, D, W, U, 0.0f, nullptr, 0, y, U, ws, ws_floats, stream));
  for (int64_t t = 0; t < T; ++t) {
    float* yt = y + t * U;
    FORGENET_RNN_TRY(sgemm(false, false, N, U, U, 1.0f, t ? yt - U : h0, t ? T * U : U, R, U, 1.0f, yt, T * U, yt,
                           T * U, ws, ws_floats, stream));
    FORGENET_LAUNCH(fwd_step, blocks_for(N * U), kThreads, stream, N, T, U, t, a, b, y);
    FORGENET_RNN_TRY(launch_status());
  }
  FORGENET_LAUNCH(gather_last, blocks_for(N * T * U), kThreads, stream, N, T, U, y, h_T, reserve);
  return launch_status();
}

cudaError_t simple_rnn_backward(const float* dy, const float* dh_T, const float* x, const float* h0, const float* W,
                                const float* R, const float* reserve, int a, int64_t N, int64_t T, int64_t D,
                                int64_t U, float* dx, float* dh0, float* dk, float* drk, float* db, float* ws,
                                int64_t ws_floats, cudaStream_t stream) {
  const int64_t M = N * T;
  if (ws_floats < simple_rnn_backward_workspace_floats(N, T, D, U)) return cudaErrorInvalidValue;
  if (N * U > 0) {
    FORGENET_LAUNCH(rnn::copy_or_zero, blocks_for(N * U), kThreads, stream, N * U, dh_T, dh0);
    FORGENET_RNN_TRY(launch_status());
  }
  if (M <= 0 || U <= 0) {
    if (D * U > 0) FORGENET_RNN_TRY(cudaMemsetAsync(dk, 0, D * U * sizeof(float), stream));
    if (U > 0) FORGENET_RNN_TRY(cudaMemsetAsync(drk, 0, U * U * sizeof(float), stream));
    if (U > 0) FORGENET_RNN_TRY(cudaMemsetAsync(db, 0, U * sizeof(float), stream));
    if (M * D > 0) FORGENET_RNN_TRY(cudaMemsetAsync(dx, 0, M * D * sizeof(float), stream));
    return cudaSuccess;
  }
  float* dz = ws;
  float* hp = dz + M * U;
  float* shared = hp + M * U;
  const int64_t shared_n = ws_floats - 2 * M * U;
  for (int64_t t = T - 1; t >= 0; --t) {
    FORGENET_LAUNCH(bwd_step, blocks_for(N * U), kThreads, stream, N, T, U, t, a, reserve, h0, dy, dh0, dz, hp);
    FORGENET_RNN_TRY(launch_status());
    FORGENET_RNN_TRY(sgemm(false, true, N, U, U, 1.0f, dz + t * U, T * U, R, U, 0.0f, nullptr, 0, dh0, U, shared,
                           shared_n, stream));
  }
  FORGENET_RNN_TRY(rnn::column_sums(dz, M, U, U, db, shared, stream));
  FORGENET_RNN_TRY(sgemm(true, false, D, U, M, 1.0f, x, D, dz, U, 0.0f, nullptr, 0, dk, U, shared, shared_n, stream));
  FORGENET_RNN_TRY(sgemm(true, false, U, U, M, 1.0f, hp, U, dz, U, 0.0f, nullptr, 0, drk, U, shared, shared_n, stream));
  return sgemm(false, true, M, D, U, 1.0f, dz, U, W, U, 0.0f, nullptr, 0, dx, D, shared, shared_n, stream);
}

}  // namespace forgenet::gpu

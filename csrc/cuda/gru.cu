// GRU through time as the CPU kernel (cpu/gru.cpp) does it, with sgemm (cuda/gemm.h) for every product:
//   forward:  reserve[:, :, :3U] = x @ kernel                       one GEMM over all N*T rows
//             per step t: zr = h_{t-1} @ R, then one pointwise kernel (reset_before: h [Rz Rr], pass A,
//             q @ Rh, pass B) writing [z r hh q h_t] into the reserve and h_t into y
//   backward: per step t (reverse): pointwise -> dzx / dzr rows, dh = dh_t * z; dh += dzr_t R^T (GEMM)
//             (reset_before: pass A, dq = da Rh^T, pass B, dh += [dz dr] [Rz Rr]^T)
//             then dkernel = x^T dzx, drecurrent_kernel = hp^T dzr (or its two halves), dx = dzx kernel^T,
//             and the bias gradients as deterministic column sums.
// The activations are common/activations.h's, shared with the CPU, so both devices agree to float ulps.
#include "common/activations.h"
#include "common/shapes.h"
#include "cuda/common.cuh"
#include "cuda/gemm.h"
#include "cuda/gru.h"
#include "cuda/rnn_common.cuh"

#include <algorithm>

namespace forgenet::gpu {

namespace {

constexpr int64_t kRS = kGruReserveGates;  // reserve row = 5U floats (common/shapes.h)

using act::sigmoid_approx;
using act::tanh_approx;
using rnn::bias_parts;

// h_{t-1} of sample n at step t: the reserve's h slot of step t-1, or h0.
__device__ inline float h_prev_at(const float* reserve, const float* h0, int64_t n, int64_t T, int64_t U, int64_t t,
                                  int64_t u) {
  return t ? reserve[(n * T + t - 1) * kRS * U + 4 * U + u] : h0[n * U + u];
}

__global__ void __launch_bounds__(kThreads) fwd_after(int64_t N, int64_t T, int64_t U, int64_t t,
                                                      const float* __restrict__ zr, const float* __restrict__ bi,
                                                      const float* __restrict__ br, const float* __restrict__ h0,
                                                      float* __restrict__ reserve, float* __restrict__ y) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U;
    float* r = reserve + (n * T + t) * kRS * U;
    const float* z_r = zr + n * 3 * U;
    const float hp = h_prev_at(reserve, h0, n, T, U, t, j);
    const float z = sigmoid_approx(r[j] + bi[j] + z_r[j] + br[j]);
    const float rg = sigmoid_approx(r[U + j] + bi[U + j] + z_r[U + j] + br[U + j]);
    const float rh = z_r[2 * U + j] + br[2 * U + j];
    const float hh = tanh_approx(r[2 * U + j] + bi[2 * U + j] + rg * rh);
    const float h = z * hp + (1.0f - z) * hh;
    r[j] = z;
    r[U + j] = rg;
    r[2 * U + j] = hh;
    r[3 * U + j] = rh;
    r[4 * U + j] = h;
    y[(n * T + t) * U + j] = h;
  }
}

__global__ void __launch_bounds__(kThreads) fwd_before_a(int64_t N, int64_t T, int64_t U, int64_t t,
                                                         const float* __restrict__ zr, const float* __restrict__ bi,
                                                         const float* __restrict__ h0, float* __restrict__ reserve) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U;
    float* r = reserve + (n * T + t) * kRS * U;
    const float* z_r = zr + n * 3 * U;
    const float hp = h_prev_at(reserve, h0, n, T, U, t, j);
    const float z = sigmoid_approx(r[j] + bi[j] + z_r[j]);
    const float rg = sigmoid_approx(r[U + j] + bi[U + j] + z_r[U + j]);
    r[j] = z;
    r[U + j] = rg;
    r[3 * U + j] = rg * hp;
  }
}

// zh: q @ Rh of this step, at zr + 2U (row stride 3U).
__global__ void __launch_bounds__(kThreads) fwd_before_b(int64_t N, int64_t T, int64_t U, int64_t t,
                                                         const float* __restrict__ zh, const float* __restrict__ bi,
                                                         const float* __restrict__ h0, float* __restrict__ reserve,
                                                         float* __restrict__ y) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U;
    float* r = reserve + (n * T + t) * kRS * U;
    const float hp = h_prev_at(reserve, h0, n, T, U, t, j);
    const float z = r[j];
    const float hh = tanh_approx(r[2 * U + j] + bi[2 * U + j] + zh[n * 3 * U + j]);
    const float h = z * hp + (1.0f - z) * hh;
    r[2 * U + j] = hh;
    r[4 * U + j] = h;
    y[(n * T + t) * U + j] = h;
  }
}

__global__ void __launch_bounds__(kThreads) bwd_after(int64_t N, int64_t T, int64_t U, int64_t t,
                                                      const float* __restrict__ reserve, const float* __restrict__ h0,
                                                      const float* __restrict__ dy, float* __restrict__ dh,
                                                      float* __restrict__ dzx, float* __restrict__ dzr,
                                                      float* __restrict__ hp_out) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U, row = n * T + t;
    const float* r = reserve + row * kRS * U;
    const float hp = h_prev_at(reserve, h0, n, T, U, t, j);
    const float z = r[j], rg = r[U + j], hh = r[2 * U + j], rh = r[3 * U + j];
    float dht = dh[e];
    if (dy) dht += dy[row * U + j];
    const float dz = dht * (hp - hh) * z * (1.0f - z);
    const float da = dht * (1.0f - z) * (1.0f - hh * hh);
    const float dr = da * rh * rg * (1.0f - rg);
    float* x = dzx + row * 3 * U;
    float* q = dzr + row * 3 * U;
    x[j] = dz, x[U + j] = dr, x[2 * U + j] = da;
    q[j] = dz, q[U + j] = dr, q[2 * U + j] = da * rg;
    dh[e] = dht * z;
    hp_out[row * U + j] = hp;
  }
}

__global__ void __launch_bounds__(kThreads) bwd_before_a(int64_t N, int64_t T, int64_t U, int64_t t,
                                                         const float* __restrict__ reserve, const float* __restrict__ h0,
                                                         const float* __restrict__ dy, float* __restrict__ dh,
                                                         float* __restrict__ dzx, float* __restrict__ hp_out) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U, row = n * T + t;
    const float* r = reserve + row * kRS * U;
    const float hp = h_prev_at(reserve, h0, n, T, U, t, j);
    const float z = r[j], hh = r[2 * U + j];
    float dht = dh[e];
    if (dy) dht += dy[row * U + j];
    float* x = dzx + row * 3 * U;
    x[j] = dht * (hp - hh) * z * (1.0f - z);
    x[2 * U + j] = dht * (1.0f - z) * (1.0f - hh * hh);
    dh[e] = dht * z;
    hp_out[row * U + j] = hp;
  }
}

__global__ void __launch_bounds__(kThreads) bwd_before_b(int64_t N, int64_t T, int64_t U, int64_t t,
                                                         const float* __restrict__ reserve, const float* __restrict__ h0,
                                                         const float* __restrict__ dq, float* __restrict__ dh,
                                                         float* __restrict__ dzx) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U, row = n * T + t;
    const float rg = reserve[row * kRS * U + U + j];
    const float hp = h_prev_at(reserve, h0, n, T, U, t, j);
    dzx[row * 3 * U + U + j] = dq[e] * hp * rg * (1.0f - rg);
    dh[e] += dq[e] * rg;
  }
}

// h_T = the h slot of the last step's reserve rows.
__global__ void __launch_bounds__(kThreads) last_h(int64_t N, int64_t T, int64_t U, const float* __restrict__ reserve,
                                                   float* __restrict__ h_T) {
  FORGENET_RNN_GRID_STRIDE(e, N * U) {
    const int64_t n = e / U, j = e - n * U;
    h_T[e] = reserve[(n * T + T - 1) * kRS * U + 4 * U + j];
  }
}

}  // namespace

int64_t gru_forward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U) {
  return N * 3 * U + std::max(sgemm_workspace_floats(N * T, 3 * U, D), sgemm_workspace_floats(N, 3 * U, U));
}

// dzx (N,T,3U), dzr (N,T,3U) with reset_after or dq (N,U) without, hp (N,T,U), then space shared by the GEMMs'
// split-K partials and the bias partials.
int64_t gru_backward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U, bool reset_after) {
  const int64_t M = N * T, G = 3 * U;
  if (M <= 0 || U <= 0) return 0;
  const int64_t shared = std::max({sgemm_workspace_floats(N, U, G), sgemm_workspace_floats(D, G, M),
                                   sgemm_workspace_floats(U, G, M), sgemm_workspace_floats(M, D, G),
                                   bias_parts(M) * G});
  return M * G + (reset_after ? M * G : N * U) + M * U + shared;
}

cudaError_t gru_forward(const float* x, const float* h0, const float* W, const float* R, const float* b_in,
                        const float* b_rec, bool reset_after, int64_t N, int64_t T, int64_t D, int64_t U, float* y,
                        float* h_T, float* reserve, float* ws, int64_t ws_floats, cudaStream_t stream) {
  const int64_t G = 3 * U, RS = kRS * U;
  if (N * U <= 0) return cudaSuccess;  // every output is empty
  if (ws_floats < gru_forward_workspace_floats(N, T, D, U)) return cudaErrorInvalidValue;
  if (T == 0) {
    FORGENET_LAUNCH(rnn::copy_or_zero, blocks_for(N * U), kThreads, stream, N * U, h0, h_T);
    return launch_status();
  }
  float* zr = ws;
  float* gws = ws + N * G;
  const int64_t gws_n = ws_floats - N * G;
  FORGENET_RNN_TRY(sgemm(false, false, N * T, G, D, 1.0f, x, D, W, G, 0.0f, nullptr, 0, reserve, RS, gws, gws_n,
                         stream));
  for (int64_t t = 0; t < T; ++t) {
    const float* hp = t ? reserve + (t - 1) * RS + 4 * U : h0;
    const int64_t ldhp = t ? T * RS : U;
    if (reset_after) {
      FORGENET_RNN_TRY(sgemm(false, false, N, G, U, 1.0f, hp, ldhp, R, G, 0.0f, nullptr, 0, zr, G, gws, gws_n, stream));
      FORGENET_LAUNCH(fwd_after, blocks_for(N * U), kThreads, stream, N, T, U, t, zr, b_in, b_rec, h0, reserve, y);
      FORGENET_RNN_TRY(launch_status());
    } else {
      FORGENET_RNN_TRY(sgemm(false, false, N, 2 * U, U, 1.0f, hp, ldhp, R, G, 0.0f, nullptr, 0, zr, G, gws, gws_n,
                             stream));
      FORGENET_LAUNCH(fwd_before_a, blocks_for(N * U), kThreads, stream, N, T, U, t, zr, b_in, h0, reserve);
      FORGENET_RNN_TRY(launch_status());
      FORGENET_RNN_TRY(sgemm(false, false, N, U, U, 1.0f, reserve + t * RS + 3 * U, T * RS, R + 2 * U, G, 0.0f,
                             nullptr, 0, zr + 2 * U, G, gws, gws_n, stream));
      FORGENET_LAUNCH(fwd_before_b, blocks_for(N * U), kThreads, stream, N, T, U, t, zr + 2 * U, b_in, h0, reserve, y);
      FORGENET_RNN_TRY(launch_status());
    }
  }
  FORGENET_LAUNCH(last_h, blocks_for(N * U), kThreads, stream, N, T, U, reserve, h_T);
  return launch_status();
}

cudaError_t gru_backward(const float* dy, const float* dh_T, const float* x, const float* h0, const float* W,
                         const float* R, const float* reserve, bool reset_after, int64_t N, int64_t T, int64_t D,
                         int64_t U, float* dx, float* dh0, float* dk, float* drk, float* db_in, float* db_rec,
                         float* ws, int64_t ws_floats, cudaStream_t stream) {
  const int64_t G = 3 * U, M = N * T, RS = kRS * U;
  if (ws_floats < gru_backward_workspace_floats(N, T, D, U, reset_after)) return cudaErrorInvalidValue;
  if (N * U > 0) {  // dh0 doubles as the running gradient reaching h_t
    FORGENET_LAUNCH(rnn::copy_or_zero, blocks_for(N * U), kThreads, stream, N * U, dh_T, dh0);
    FORGENET_RNN_TRY(launch_status());
  }
  if (M <= 0 || U <= 0) {  // no steps or no units: the weights got no gradient (dx, if any, is zero)
    if (D * G > 0) FORGENET_RNN_TRY(cudaMemsetAsync(dk, 0, D * G * sizeof(float), stream));
    if (U * G > 0) FORGENET_RNN_TRY(cudaMemsetAsync(drk, 0, U * G * sizeof(float), stream));
    if (G > 0) FORGENET_RNN_TRY(cudaMemsetAsync(db_in, 0, G * sizeof(float), stream));
    if (G > 0 && reset_after) FORGENET_RNN_TRY(cudaMemsetAsync(db_rec, 0, G * sizeof(float), stream));
    if (M * D > 0) FORGENET_RNN_TRY(cudaMemsetAsync(dx, 0, M * D * sizeof(float), stream));
    return cudaSuccess;
  }
  float* dzx = ws;
  float* dzr = reset_after ? dzx + M * G : nullptr;
  float* dq = reset_after ? nullptr : dzx + M * G;
  float* hp = dzx + M * G + (reset_after ? M * G : N * U);
  float* shared = hp + M * U;
  const int64_t shared_n = ws_floats - (shared - ws);
  for (int64_t t = T - 1; t >= 0; --t) {
    if (reset_after) {
      FORGENET_LAUNCH(bwd_after, blocks_for(N * U), kThreads, stream, N, T, U, t, reserve, h0, dy, dh0, dzx, dzr, hp);
      FORGENET_RNN_TRY(launch_status());
      FORGENET_RNN_TRY(sgemm(false, true, N, U, G, 1.0f, dzr + t * G, T * G, R, G, 1.0f, dh0, U, dh0, U, shared,
                             shared_n, stream));
    } else {
      FORGENET_LAUNCH(bwd_before_a, blocks_for(N * U), kThreads, stream, N, T, U, t, reserve, h0, dy, dh0, dzx, hp);
      FORGENET_RNN_TRY(launch_status());
      FORGENET_RNN_TRY(sgemm(false, true, N, U, U, 1.0f, dzx + t * G + 2 * U, T * G, R + 2 * U, G, 0.0f, nullptr, 0,
                             dq, U, shared, shared_n, stream));
      FORGENET_LAUNCH(bwd_before_b, blocks_for(N * U), kThreads, stream, N, T, U, t, reserve, h0, dq, dh0, dzx);
      FORGENET_RNN_TRY(launch_status());
      FORGENET_RNN_TRY(sgemm(false, true, N, U, 2 * U, 1.0f, dzx + t * G, T * G, R, G, 1.0f, dh0, U, dh0, U, shared,
                             shared_n, stream));
    }
  }
  FORGENET_RNN_TRY(rnn::column_sums(dzx, M, G, G, db_in, shared, stream));
  FORGENET_RNN_TRY(sgemm(true, false, D, G, M, 1.0f, x, D, dzx, G, 0.0f, nullptr, 0, dk, G, shared, shared_n, stream));
  if (reset_after) {
    FORGENET_RNN_TRY(rnn::column_sums(dzr, M, G, G, db_rec, shared, stream));
    FORGENET_RNN_TRY(sgemm(true, false, U, G, M, 1.0f, hp, U, dzr, G, 0.0f, nullptr, 0, drk, G, shared, shared_n,
                           stream));
  } else {
    FORGENET_RNN_TRY(sgemm(true, false, U, 2 * U, M, 1.0f, hp, U, dzx, G, 0.0f, nullptr, 0, drk, G, shared, shared_n,
                           stream));
    FORGENET_RNN_TRY(sgemm(true, false, U, U, M, 1.0f, reserve + 3 * U, RS, dzx + 2 * U, G, 0.0f, nullptr, 0,
                           drk + 2 * U, G, shared, shared_n, stream));
  }
  return sgemm(false, true, M, D, G, 1.0f, dzx, G, W, G, 0.0f, nullptr, 0, dx, D, shared, shared_n, stream);
}

}  // namespace forgenet::gpu

// SimpleRNN through time as gru.cpp runs the GRU: one input GEMM straight into y, then per step the
// recurrent GEMM accumulated onto y[t] (beta = 1) and one pointwise pass adding the bias and applying
// the activation in place; backward mirrors it. The pass is a few flops per element against a U-deep
// GEMM, so it is compiled once (omp simd) rather than per ISA.
#include "cpu/simple_rnn.h"

#include <algorithm>
#include <cstring>

#include "common/activations.h"
#include "common/workspace.h"
#include "cpu/gemm.h"
#include "cpu/rnn_loop.h"

namespace forgenet {

namespace {

template <RnnActivation A>
inline float activate(float v) {
  if constexpr (A == RnnActivation::tanh) return act::tanh_approx(v);
  else if constexpr (A == RnnActivation::relu) return v > 0.0f ? v : 0.0f;
  else if constexpr (A == RnnActivation::sigmoid) return act::sigmoid_approx(v);
  else return v;
}

// d act / d pre-activation, from the activation's output h.
template <RnnActivation A>
inline float slope(float h) {
  if constexpr (A == RnnActivation::tanh) return 1.0f - h * h;
  else if constexpr (A == RnnActivation::relu) return h > 0.0f ? 1.0f : 0.0f;
  else if constexpr (A == RnnActivation::sigmoid) return h * (1.0f - h);
  else return 1.0f;
}

template <RnnActivation A>
void fwd_pass(float* y, int64_t ldy, const float* __restrict b, int64_t N, int64_t U) {
  for (int64_t n = 0; n < N; ++n) {
    float* __restrict row = y + n * ldy;
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) row[j] = activate<A>(row[j] + b[j]);
  }
}

// dz = (dh + dy) * act'(h); dh is then overwritten by the GEMM.
template <RnnActivation A>
void bwd_pass(const float* h, int64_t ldh, const float* dy, int64_t ldy, const float* dh, float* dz,
              int64_t lddz, int64_t N, int64_t U) {
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict hr = h + n * ldh;
    const float* __restrict dhr = dh + n * U;
    float* __restrict dzr = dz + n * lddz;
    if (dy) {
      const float* __restrict dyr = dy + n * ldy;
#pragma omp simd
      for (int64_t j = 0; j < U; ++j) dzr[j] = (dhr[j] + dyr[j]) * slope<A>(hr[j]);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < U; ++j) dzr[j] = dhr[j] * slope<A>(hr[j]);
    }
  }
}

using FwdPass = void (*)(float*, int64_t, const float*, int64_t, int64_t);
using BwdPass = void (*)(const float*, int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t,
                         int64_t);

FwdPass fwd_pass_for(RnnActivation a) {
  switch (a) {
    case RnnActivation::tanh: return fwd_pass<RnnActivation::tanh>;
    case RnnActivation::relu: return fwd_pass<RnnActivation::relu>;
    case RnnActivation::sigmoid: return fwd_pass<RnnActivation::sigmoid>;
    default: return fwd_pass<RnnActivation::linear>;
  }
}

BwdPass bwd_pass_for(RnnActivation a) {
  switch (a) {
    case RnnActivation::tanh: return bwd_pass<RnnActivation::tanh>;
    case RnnActivation::relu: return bwd_pass<RnnActivation::relu>;
    case RnnActivation::sigmoid: return bwd_pass<RnnActivation::sigmoid>;
    default: return bwd_pass<RnnActivation::linear>;
  }
}

}  // namespace

void simple_rnn_forward(const float* x, const float* h0, const float* W, const float* R, const float* b,
                        RnnActivation act, int64_t N, int64_t T, int64_t D, int64_t U, float* y, float* h_T,
                        float* reserve) {
  const FwdPass pass = fwd_pass_for(act);
  if (N * T > 0 && U > 0) sgemm(false, false, N * T, U, D, 1.0f, x, D, W, U, 0.0f, y, U);
  rnn::for_row_blocks(N, U, 1, [&](int64_t n0, int64_t n1) {
    const int64_t m = n1 - n0;
    for (int64_t t = 0; t < T && U > 0; ++t) {
      float* yt = y + (n0 * T + t) * U;
      const float* hp = t ? yt - U : h0 + n0 * U;
      sgemm(false, false, m, U, U, 1.0f, hp, t ? T * U : U, R, U, 1.0f, yt, T * U);
      pass(yt, T * U, b, m, U);
    }
  });
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(h_T + n * U, T ? y + (n * T + T - 1) * U : h0 + n * U, U * sizeof(float));
  if (reserve) std::memcpy(reserve, y, N * T * U * sizeof(float));
}

void simple_rnn_backward(const float* dy, const float* dh_T, const float* x, const float* h0, const float* W,
                         const float* R, const float* reserve, RnnActivation act, int64_t N, int64_t T,
                         int64_t D, int64_t U, float* dx, float* dh0, float* dk, float* drk, float* db) {
  const int64_t M = N * T;
  const BwdPass pass = bwd_pass_for(act);
  if (dh_T) std::memcpy(dh0, dh_T, N * U * sizeof(float)); else std::fill(dh0, dh0 + N * U, 0.0f);
  Scratch s(2 * Scratch::floats(M * U) + Scratch::floats(U * U), "simple_rnn_backward's gradients and states");
  float* dz = s.take(M * U);
  float* rt = s.take(U * U);  // R^T
  float* hp = s.take(M * U);  // h_{t-1} of every step
  rnn::transpose(R, U, U, rt);
  rnn::for_row_blocks(N, U, 1, [&](int64_t n0, int64_t n1) {
    const int64_t m = n1 - n0, o = n0 * T;
    float* dh = dh0 + n0 * U;
    for (int64_t t = T - 1; t >= 0 && U > 0; --t) {
      float* dzt = dz + (o + t) * U;
      pass(reserve + (o + t) * U, T * U, dy ? dy + (o + t) * U : nullptr, T * U, dh, dzt, T * U, m, U);
      sgemm(false, false, m, U, U, 1.0f, dzt, T * U, rt, U, 0.0f, dh, U);
    }
  });
  if (M == 0 || U == 0) return rnn::zero_all({{dk, D * U}, {drk, U * U}, {db, U}, {dx, M * D}});
  for (int64_t n = 0; n < N; ++n) {
    std::memcpy(hp + n * T * U, h0 + n * U, U * sizeof(float));
    if (T > 1) std::memcpy(hp + (n * T + 1) * U, reserve + n * T * U, (T - 1) * U * sizeof(float));
  }
  sgemm(true, false, D, U, M, 1.0f, x, D, dz, U, 0.0f, dk, U);
  sgemm(true, false, U, U, M, 1.0f, hp, U, dz, U, 0.0f, drk, U);
  sgemm(false, true, M, D, U, 1.0f, dz, U, W, U, 0.0f, dx, D);
  rnn::column_sums(dz, M, U, U, db);
}

}  // namespace forgenet

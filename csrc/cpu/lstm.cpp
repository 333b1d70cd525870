// LSTM forward and backward through time, cuDNN-style: the input projection of every step is one big
// GEMM up front, the time loop then does one small recurrent GEMM plus one fused pointwise pass per
// step, and backward mirrors it (weight gradients as big GEMMs after the loop).
//
// The reserve doubles as the gate buffer: the input GEMM writes x W into its first 4U columns of every
// (n, t) row, each step's recurrent GEMM accumulates h_{t-1} R onto step t's rows (ldc = T*5U), and
// the pointwise pass overwrites them in place with the activated gates and c_t. h_{t-1} for step t
// is read straight out of y, so no per-step copies.
#include "cpu/lstm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/lstm_pointwise.h"

namespace forgenet {

void lstm_fwd_rows_generic(const LstmFwdRows& a, int64_t n0, int64_t n1, int64_t U) { fwd_rows_impl(a, n0, n1, U); }
void lstm_bwd_rows_generic(const LstmBwdRows& a, int64_t n0, int64_t n1, int64_t U) { bwd_rows_impl(a, n0, n1, U); }
void lstm_activations_generic(const float* x, float* s, float* t, int64_t n) { activations_impl(x, s, t, n); }

#ifndef FORGENET_X86  // the SIMD files are not compiled off x86; best_isa() is then always generic
void lstm_fwd_rows_avx2(const LstmFwdRows& a, int64_t n0, int64_t n1, int64_t U) { fwd_rows_impl(a, n0, n1, U); }
void lstm_bwd_rows_avx2(const LstmBwdRows& a, int64_t n0, int64_t n1, int64_t U) { bwd_rows_impl(a, n0, n1, U); }
void lstm_activations_avx2(const float* x, float* s, float* t, int64_t n) { activations_impl(x, s, t, n); }
void lstm_fwd_rows_avx512(const LstmFwdRows& a, int64_t n0, int64_t n1, int64_t U) { fwd_rows_impl(a, n0, n1, U); }
void lstm_bwd_rows_avx512(const LstmBwdRows& a, int64_t n0, int64_t n1, int64_t U) { bwd_rows_impl(a, n0, n1, U); }
void lstm_activations_avx512(const float* x, float* s, float* t, int64_t n) { activations_impl(x, s, t, n); }
#endif

namespace {

using FwdFn = void (*)(const LstmFwdRows&, int64_t, int64_t, int64_t);
using BwdFn = void (*)(const LstmBwdRows&, int64_t, int64_t, int64_t);

FwdFn fwd_rows() {
  switch (best_isa()) {
    case Isa::avx512: return lstm_fwd_rows_avx512;
    case Isa::avx2: return lstm_fwd_rows_avx2;
    default: return lstm_fwd_rows_generic;
  }
}

BwdFn bwd_rows() {
  switch (best_isa()) {
    case Isa::avx512: return lstm_bwd_rows_avx512;
    case Isa::avx2: return lstm_bwd_rows_avx2;
    default: return lstm_bwd_rows_generic;
  }
}

// Rows of one step split over the threads; a step of a small batch stays on one thread (a fork
// costs more than it saves).
template <typename Fn, typename Args>
void for_rows(Fn fn, const Args& a, int64_t N, int64_t U) {
  const bool par = N > 1 && N * U >= 2048 && omp_get_max_threads() > 1 && !omp_in_parallel();
  if (!par) {
    fn(a, 0, N, U);
    return;
  }
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    fn(a, N * id / nt, N * (id + 1) / nt, U);
  }
}

}  // namespace

void lstm_activations(const float* x, float* sig, float* tnh, int64_t n) {
  switch (best_isa()) {
    case Isa::avx512: return lstm_activations_avx512(x, sig, tnh, n);
    case Isa::avx2: return lstm_activations_avx2(x, sig, tnh, n);
    default: return lstm_activations_generic(x, sig, tnh, n);
  }
}

void lstm_forward(const float* x, const float* h0, const float* c0, const float* kernel,
                  const float* recurrent_kernel, const float* bias, int64_t N, int64_t T, int64_t D,
                  int64_t U, float* y, float* h_T, float* c_T, float* reserve) {
  const int64_t G = 4 * U, RS = kLstmReserveGates * U;
  const FwdFn fwd = fwd_rows();
  if (N * T > 0) sgemm(false, false, N * T, G, D, 1.0f, x, D, kernel, G, 0.0f, reserve, RS);
  for (int64_t t = 0; t < T; ++t) {
    float* z = reserve + t * RS;
    const float* h_prev = t ? y + (t - 1) * U : h0;
    const int64_t ldh = t ? T * U : U;
    sgemm(false, false, N, G, U, 1.0f, h_prev, ldh, recurrent_kernel, G, 1.0f, z, T * RS);
    LstmFwdRows a{z, T * RS, bias, t ? z - RS + G : c0, t ? T * RS : U, y + t * U, T * U};
    for_rows(fwd, a, N, U);
  }
  for (int64_t n = 0; n < N; ++n) {
    std::memcpy(h_T + n * U, T ? y + (n * T + T - 1) * U : h0 + n * U, U * sizeof(float));
    std::memcpy(c_T + n * U, T ? reserve + (n * T + T - 1) * RS + G : c0 + n * U, U * sizeof(float));
  }
}

void lstm_backward(const float* dy, const float* dh_T, const float* dc_T, const float* x,
                   const float* h0, const float* c0, const float* kernel,
                   const float* recurrent_kernel, const float* reserve, int64_t N, int64_t T,
                   int64_t D, int64_t U, float* dx, float* dh0, float* dc0, float* dkernel,
                   float* drecurrent_kernel, float* dbias) {
  const int64_t G = 4 * U, RS = kLstmReserveGates * U;
  const BwdFn bwd = bwd_rows();
  // dh0 / dc0 double as the running gradients reaching h_t / c_t.
  if (dh_T) std::memcpy(dh0, dh_T, N * U * sizeof(float)); else std::fill(dh0, dh0 + N * U, 0.0f);
  if (dc_T) std::memcpy(dc0, dc_T, N * U * sizeof(float)); else std::fill(dc0, dc0 + N * U, 0.0f);
  std::vector<float> dz(N * T * G);   // pre-activation gradients of every step, (N, T, 4U)
  std::vector<float> hp(N * T * U);   // h_{t-1} of every step, (N, T, U), for drecurrent_kernel
  // recurrent_kernel^T once, so each step's GEMM reads a plain (4U, U) matrix rather than
  // transposing R again on every step.
  std::vector<float> rt(G * U);
  for (int64_t u = 0; u < U; ++u)
    for (int64_t j = 0; j < G; ++j) rt[j * U + u] = recurrent_kernel[u * G + j];
  for (int64_t t = T - 1; t >= 0; --t) {
    LstmBwdRows a{reserve + t * RS, T * RS,
                  t ? reserve + (t - 1) * RS + G : c0, t ? T * RS : U,
                  dy ? dy + t * U : nullptr, T * U,
                  dh0, dc0, dz.data() + t * G, T * G,
                  t + 1 < T ? hp.data() + (t + 1) * U : nullptr, T * U};
    for_rows(bwd, a, N, U);
    sgemm(false, false, N, U, G, 1.0f, dz.data() + t * G, T * G, rt.data(), U, 0.0f, dh0, U);
  }
  for (int64_t n = 0; n < N && T; ++n) std::memcpy(hp.data() + n * T * U, h0 + n * U, U * sizeof(float));

  const int64_t M = N * T;
  if (M == 0) {  // no steps: the weights got no gradient (and no GEMM has to handle K == 0)
    std::fill(dkernel, dkernel + D * G, 0.0f);
    std::fill(drecurrent_kernel, drecurrent_kernel + U * G, 0.0f);
    std::fill(dbias, dbias + G, 0.0f);
    return;
  }
  sgemm(true, false, D, G, M, 1.0f, x, D, dz.data(), G, 0.0f, dkernel, G);
  sgemm(true, false, U, G, M, 1.0f, hp.data(), U, dz.data(), G, 0.0f, drecurrent_kernel, G);
  sgemm(false, true, M, D, G, 1.0f, dz.data(), G, kernel, G, 0.0f, dx, D);
  // dbias: column sums of dz; each thread owns a block of columns, rows stream through.
  const float* dzp = dz.data();
#pragma omp parallel for schedule(static) if (M * G > 65536)
  for (int64_t j0 = 0; j0 < G; j0 += 64) {
    const int64_t j1 = std::min(G, j0 + 64);
    double acc[64] = {};
    for (int64_t m = 0; m < M; ++m) {
      const float* row = dzp + m * G;
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) acc[j - j0] += row[j];
    }
    for (int64_t j = j0; j < j1; ++j) dbias[j] = static_cast<float>(acc[j - j0]);
  }
}

}  // namespace forgenet

// The LSTM's fused pointwise passes, built per ISA (generic, avx2, avx512; see cpu/lstm_pointwise.h).
// Units are innermost and every loop is `omp simd`; the activations are common/activations.h's
// branch-free polynomials (static functions, shared with cuda/lstm.cu), so they vectorise.
#include "cpu/lstm_pointwise.h"

#include "common/activations.h"

namespace forgenet::FORGENET_ISA_NS {

namespace {

using act::sigmoid_approx;
using act::tanh_approx;

}  // namespace

void lstm_activations(const float* x, float* sig, float* tnh, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    sig[i] = sigmoid_approx(x[i]);
    tnh[i] = tanh_approx(x[i]);
  }
}

void lstm_fwd_rows(const LstmFwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) {
  const int64_t w = u1 - u0, gs = a.zgs;
  const float* __restrict b = a.bias + u0;
  for (int64_t n = 0; n < N; ++n) {
    float* __restrict r = a.r + n * a.ldr + u0;
    const float* __restrict zr = a.zr + n * a.ldzr;
    const float* __restrict cp = a.c_prev + n * a.ldc + u0;
    float* __restrict h = a.h + n * a.ldh + u0;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) {
      const float i = sigmoid_approx(r[j] + zr[j] + b[j]);
      const float f = sigmoid_approx(r[U + j] + zr[gs + j] + b[U + j]);
      const float g = tanh_approx(r[2 * U + j] + zr[2 * gs + j] + b[2 * U + j]);
      const float o = sigmoid_approx(r[3 * U + j] + zr[3 * gs + j] + b[3 * U + j]);
      const float c = f * cp[j] + i * g;
      r[j] = i;
      r[U + j] = f;
      r[2 * U + j] = g;
      r[3 * U + j] = o;
      r[4 * U + j] = c;
      h[j] = o * tanh_approx(c);
    }
  }
}

namespace {

// dy and h_out are optional; the flags are template arguments so the inner loop has no branches.
template <bool kDy, bool kHout>
void bwd_rows_t(const LstmBwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) {
  const int64_t w = u1 - u0;
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict r = a.r + n * a.ldr + u0;
    const float* __restrict cp = a.c_prev + n * a.ldc + u0;
    const float* __restrict dy = kDy ? a.dy + n * a.ldy + u0 : nullptr;
    const float* __restrict dh = a.dh + n * U + u0;
    float* __restrict dc = a.dc + n * U + u0;
    float* __restrict dz = a.dz + n * a.lddz + u0;
    float* __restrict ho = kHout ? a.h_out + n * a.ldho + u0 : nullptr;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) {
      const float i = r[j], f = r[U + j], g = r[2 * U + j], o = r[3 * U + j], c = r[4 * U + j];
      const float tc = tanh_approx(c);
      float dht = dh[j];
      if constexpr (kDy) dht += dy[j];
      const float dct = dc[j] + dht * o * (1.0f - tc * tc);
      dz[j] = dct * g * i * (1.0f - i);
      dz[U + j] = dct * cp[j] * f * (1.0f - f);
      dz[2 * U + j] = dct * i * (1.0f - g * g);
      dz[3 * U + j] = dht * tc * o * (1.0f - o);
      dc[j] = dct * f;
      if constexpr (kHout) ho[j] = o * tc;
    }
  }
}

}  // namespace

void lstm_bwd_rows(const LstmBwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) {
  if (a.dy && a.h_out) bwd_rows_t<true, true>(a, N, U, u0, u1);
  else if (a.dy) bwd_rows_t<true, false>(a, N, U, u0, u1);
  else if (a.h_out) bwd_rows_t<false, true>(a, N, U, u0, u1);
  else bwd_rows_t<false, false>(a, N, U, u0, u1);
}

}  // namespace forgenet::FORGENET_ISA_NS

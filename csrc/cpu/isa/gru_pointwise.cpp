// The GRU's fused pointwise passes (see gru.h), built per ISA (generic, avx2, avx512): units are
// innermost and every loop is `omp simd`; sigmoid / tanh are common/activations.h's branch-free
// polynomials (the LSTM's, static functions).
#include "cpu/gru_pointwise.h"

#include "common/activations.h"

namespace forgenet::FORGENET_ISA_NS {

namespace {

using act::sigmoid_approx;
using act::tanh_approx;

void gru_fwd_after_impl(const GruFwdRows& a, int64_t N, int64_t U) {
  const float* __restrict bi = a.b_in;
  const float* __restrict br = a.b_rec;
  for (int64_t n = 0; n < N; ++n) {
    float* __restrict r = a.r + n * a.ldr;
    const float* __restrict zr = a.zr + n * a.ldzr;
    const float* __restrict hp = a.h_prev + n * a.ldhp;
    float* __restrict y = a.y + n * a.ldy;
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) {
      const float z = sigmoid_approx(r[j] + bi[j] + zr[j] + br[j]);
      const float rg = sigmoid_approx(r[U + j] + bi[U + j] + zr[U + j] + br[U + j]);
      const float rh = zr[2 * U + j] + br[2 * U + j];
      const float hh = tanh_approx(r[2 * U + j] + bi[2 * U + j] + rg * rh);
      const float h = z * hp[j] + (1.0f - z) * hh;
      r[j] = z;
      r[U + j] = rg;
      r[2 * U + j] = hh;
      r[3 * U + j] = rh;
      r[4 * U + j] = h;
      y[j] = h;
    }
  }
}

void gru_fwd_before_a_impl(const GruFwdRows& a, int64_t N, int64_t U) {
  const float* __restrict bi = a.b_in;
  for (int64_t n = 0; n < N; ++n) {
    float* __restrict r = a.r + n * a.ldr;
    const float* __restrict zr = a.zr + n * a.ldzr;
    const float* __restrict hp = a.h_prev + n * a.ldhp;
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) {
      const float z = sigmoid_approx(r[j] + bi[j] + zr[j]);
      const float rg = sigmoid_approx(r[U + j] + bi[U + j] + zr[U + j]);
      r[j] = z;
      r[U + j] = rg;
      r[3 * U + j] = rg * hp[j];
    }
  }
}

void gru_fwd_before_b_impl(const GruFwdRows& a, int64_t N, int64_t U) {
  const float* __restrict bi = a.b_in + 2 * U;
  for (int64_t n = 0; n < N; ++n) {
    float* __restrict r = a.r + n * a.ldr;
    const float* __restrict zr = a.zr + n * a.ldzr;
    const float* __restrict hp = a.h_prev + n * a.ldhp;
    float* __restrict y = a.y + n * a.ldy;
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) {
      const float z = r[j];
      const float hh = tanh_approx(r[2 * U + j] + bi[j] + zr[j]);
      const float h = z * hp[j] + (1.0f - z) * hh;
      r[2 * U + j] = hh;
      r[4 * U + j] = h;
      y[j] = h;
    }
  }
}

template <bool kDy>
void gru_bwd_after_t(const GruBwdRows& a, int64_t N, int64_t U) {
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict r = a.r + n * a.ldr;
    const float* __restrict hp = a.h_prev + n * a.ldhp;
    const float* __restrict dy = kDy ? a.dy + n * a.ldy : nullptr;
    float* __restrict dh = a.dh + n * U;
    float* __restrict dzx = a.dzx + n * a.lddzx;
    float* __restrict dzr = a.dzr + n * a.lddzr;
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) {
      const float z = r[j], rg = r[U + j], hh = r[2 * U + j], rh = r[3 * U + j];
      float dht = dh[j];
      if constexpr (kDy) dht += dy[j];
      const float dz = dht * (hp[j] - hh) * z * (1.0f - z);
      const float da = dht * (1.0f - z) * (1.0f - hh * hh);
      const float dr = da * rh * rg * (1.0f - rg);
      dzx[j] = dz;
      dzx[U + j] = dr;
      dzx[2 * U + j] = da;
      dzr[j] = dz;
      dzr[U + j] = dr;
      dzr[2 * U + j] = da * rg;
      dh[j] = dht * z;
    }
  }
}

template <bool kDy>
void gru_bwd_before_a_t(const GruBwdRows& a, int64_t N, int64_t U) {
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict r = a.r + n * a.ldr;
    const float* __restrict hp = a.h_prev + n * a.ldhp;
    const float* __restrict dy = kDy ? a.dy + n * a.ldy : nullptr;
    float* __restrict dh = a.dh + n * U;
    float* __restrict dzx = a.dzx + n * a.lddzx;
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) {
      const float z = r[j], hh = r[2 * U + j];
      float dht = dh[j];
      if constexpr (kDy) dht += dy[j];
      dzx[j] = dht * (hp[j] - hh) * z * (1.0f - z);
      dzx[2 * U + j] = dht * (1.0f - z) * (1.0f - hh * hh);
      dh[j] = dht * z;
    }
  }
}

void gru_bwd_before_b_impl(const GruBwdRows& a, int64_t N, int64_t U) {
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict r = a.r + n * a.ldr;
    const float* __restrict hp = a.h_prev + n * a.ldhp;
    const float* __restrict dq = a.dq + n * U;
    float* __restrict dh = a.dh + n * U;
    float* __restrict dzx = a.dzx + n * a.lddzx;
#pragma omp simd
    for (int64_t j = 0; j < U; ++j) {
      const float rg = r[U + j];
      dzx[U + j] = dq[j] * hp[j] * rg * (1.0f - rg);
      dh[j] += dq[j] * rg;
    }
  }
}

void gru_bwd_after_impl(const GruBwdRows& a, int64_t N, int64_t U) {
  if (a.dy) gru_bwd_after_t<true>(a, N, U); else gru_bwd_after_t<false>(a, N, U);
}
void gru_bwd_before_a_impl(const GruBwdRows& a, int64_t N, int64_t U) {
  if (a.dy) gru_bwd_before_a_t<true>(a, N, U); else gru_bwd_before_a_t<false>(a, N, U);
}

}  // namespace

const GruPasses gru_passes{gru_fwd_after_impl,  gru_fwd_before_a_impl, gru_fwd_before_b_impl,
                           gru_bwd_after_impl,  gru_bwd_before_a_impl, gru_bwd_before_b_impl};

}  // namespace forgenet::FORGENET_ISA_NS

// The LSTM's fused pointwise passes, written once and compiled per ISA (lstm.cpp, lstm_avx2.cpp,
// lstm_avx512.cpp include this file). Everything here has internal linkage, so the three copies
// never merge at link time and the AVX-512 one cannot leak into a generic caller.
//
// Units are innermost and every loop is `omp simd`; the activations are branch-free polynomial
// approximations (Cephes expf / tanhf) so they vectorise. Relative error < 1e-6 over the float range
// (tests/ops/test_lstm.py checks it against float64); NaN in gives NaN out.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/lstm.h"

namespace forgenet {
namespace {

inline uint32_t bits_of(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float float_of(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
// c ? a : b as bit operations: GCC vectorises a ?: or std::min with SSE2 alone only in this form.
inline float select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return float_of((bits_of(a) & m) | (bits_of(b) & ~m));
}

// exp(x) = 2^n * p(r), r = x - n ln2 in [-ln2/2, ln2/2]. The clamp keeps 2^n a normal float
// (comparisons with NaN are false, so a NaN passes through).
inline float exp_approx(float x) {
  x = select(x < -87.0f, -87.0f, x);
  x = select(x > 88.0f, 88.0f, x);
  const float magic = 12582912.0f;                   // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504088896341f + magic;  // whose value sits in t's low mantissa bits
  const float n = t - magic;
  float r = x - n * 0.693359375f;                    // ln2 split in two (Cody-Waite)
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t pow2 = (bits_of(t) - 0x4B400000u + 127u) << 23;  // unsigned: no UB on garbage
  return p * float_of(pow2);
}

inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// Small |x|: odd polynomial (no cancellation near 0); otherwise 1 - 2 / (exp(2|x|) + 1).
inline float tanh_approx(float x) {
  const float z = x * x;
  float s = -5.70498872745e-3f;
  s = s * z + 2.06390887954e-2f;
  s = s * z - 5.37397155531e-2f;
  s = s * z + 1.33314422036e-1f;
  s = s * z - 3.33332819422e-1f;
  s = s * z * x + x;
  const float a = std::fabs(x);
  const float l = std::copysign(1.0f - 2.0f / (exp_approx(2.0f * a) + 1.0f), x);
  return select(a < 0.625f, s, l);
}

inline void activations_impl(const float* x, float* sig, float* tnh, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    sig[i] = sigmoid_approx(x[i]);
    tnh[i] = tanh_approx(x[i]);
  }
}

inline void fwd_rows_impl(const LstmFwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) {
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

// dy and h_out are optional; the flags are template arguments so the inner loop has no branches.
template <bool kDy, bool kHout>
inline void bwd_rows_t(const LstmBwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) {
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

inline void bwd_rows_impl(const LstmBwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) {
  if (a.dy && a.h_out) bwd_rows_t<true, true>(a, N, U, u0, u1);
  else if (a.dy) bwd_rows_t<true, false>(a, N, U, u0, u1);
  else if (a.h_out) bwd_rows_t<false, true>(a, N, U, u0, u1);
  else bwd_rows_t<false, false>(a, N, U, u0, u1);
}

}  // namespace
}  // namespace forgenet

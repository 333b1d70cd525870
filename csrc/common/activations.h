// The LSTM's sigmoid and tanh, one source for both devices: cpu/lstm_pointwise.h (compiled per ISA)
// and cuda/lstm.cu include this, so the CPU and GPU kernels compute the same polynomials and agree to
// a few float ulps, NaN and huge inputs included.
//
// Branch-free Cephes-style approximations (expf / tanhf): they vectorise on the CPU and do not diverge
// on the GPU. Relative error < 1e-6 over the float range (tests/kernels/test_lstm.py checks it against
// float64); NaN in gives NaN out. Every function is `static`: each translation unit keeps its own copy,
// so the AVX-512 build of one can never be merged into a generic caller at link time.
#pragma once
#include <math.h>

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define FORGENET_HD __host__ __device__ __forceinline__
#else
#define FORGENET_HD inline
#endif

namespace forgenet::act {

static FORGENET_HD uint32_t bits_of(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

static FORGENET_HD float float_of(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// c ? a : b as bit operations: GCC vectorises a ?: or std::min with SSE2 alone only in this form.
static FORGENET_HD float select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return float_of((bits_of(a) & m) | (bits_of(b) & ~m));
}

// exp(x) = 2^n * p(r), r = x - n ln2 in [-ln2/2, ln2/2]. The clamp keeps 2^n a normal float
// (comparisons with NaN are false, so a NaN passes through).
static FORGENET_HD float exp_approx(float x) {
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

static FORGENET_HD float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// Small |x|: odd polynomial (no cancellation near 0); otherwise 1 - 2 / (exp(2|x|) + 1).
static FORGENET_HD float tanh_approx(float x) {
  const float z = x * x;
  float s = -5.70498872745e-3f;
  s = s * z + 2.06390887954e-2f;
  s = s * z - 5.37397155531e-2f;
  s = s * z + 1.33314422036e-1f;
  s = s * z - 3.33332819422e-1f;
  s = s * z * x + x;
  const float a = fabsf(x);
  const float l = copysignf(1.0f - 2.0f / (exp_approx(2.0f * a) + 1.0f), x);
  return select(a < 0.625f, s, l);
}

}  // namespace forgenet::act

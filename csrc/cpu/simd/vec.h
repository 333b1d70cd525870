// SIMD vector traits: a kernel written once over a traits type V = simd::Vec<isa> is compiled per ISA
// (cpu/dispatch.h) and gets plain C++ (generic), ymm (AVX2 + FMA) or zmm (AVX-512) code from the same
// source. Vec<Isa::avx2> / Vec<Isa::avx512> exist only in a translation unit compiled with those
// instruction sets (the ISA sources of forgenet_add_isa_source); Vec<Isa::generic> everywhere.
//
//   T, W                            the vector type and its width in floats
//   zero, set1(x), bcast(p)         all lanes 0 / x / *p
//   load, store                     unaligned; loada, storea: 32/64-byte aligned pointers
//   load_part(p, n), store_part     the first n < W lanes (the rest read as 0, never touched in memory)
//   add, sub, mul, min, max         lane-wise (min/max return their SECOND operand when one is NaN)
//   fma(a, b, c) = a*b + c          fused where the ISA has it; fms(a, b, c) = a*b - c
//   hsum, hmax                      horizontal sum and max
//   exp2(x)                         2^x to ~2 ulp for x <= 127; 2^-inf = 0, NaN stays NaN
//   exp(x)                          e^x = exp2(x * log2(e)) (relative error ~2 ulp + |x| * 2^-24)
//
// Everything is in an anonymous namespace and always inlined: each translation unit keeps its own
// copy, so an AVX-512 body can never be merged by the linker into a generic caller.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "cpu/cpu_features.h"

#define FORGENET_VEC_INLINE __attribute__((always_inline)) static inline

namespace forgenet::simd {
namespace {

template <Isa kIsa>
struct Vec;

// The exp2 polynomial of every ISA: 2^r for |r| <= 1/2, degree 5 (~2 ulp), Horner order.
constexpr float kExp2Poly[6] = {1.327647129073739e-3f, 9.675541892647743e-3f, 5.550713092088699e-2f,
                                2.4022120237350464e-1f, 6.931469440460205e-1f, 1.0f};
constexpr float kLog2e = 1.4426950408889634f;

// Plain C++ over 4 floats: the compiler turns each lane loop into SSE code (or whatever the target has).
template <>
struct Vec<Isa::generic> {
  struct T {
    float v[4];
  };
  static constexpr int W = 4;
#define FORGENET_LANES(expr) \
  T r;                       \
  for (int i = 0; i < W; ++i) r.v[i] = (expr); \
  return r;
  FORGENET_VEC_INLINE T zero() { FORGENET_LANES(0.0f) }
  FORGENET_VEC_INLINE T set1(float x) { FORGENET_LANES(x) }
  FORGENET_VEC_INLINE T bcast(const float* p) { return set1(*p); }
  FORGENET_VEC_INLINE T load(const float* p) { FORGENET_LANES(p[i]) }
  FORGENET_VEC_INLINE T loada(const float* p) { return load(p); }
  FORGENET_VEC_INLINE void store(float* p, T x) { std::memcpy(p, x.v, sizeof x.v); }
  FORGENET_VEC_INLINE void storea(float* p, T x) { store(p, x); }
  FORGENET_VEC_INLINE T load_part(const float* p, int n) { FORGENET_LANES(i < n ? p[i] : 0.0f) }
  FORGENET_VEC_INLINE void store_part(float* p, T x, int n) {
    for (int i = 0; i < n; ++i) p[i] = x.v[i];
  }
  FORGENET_VEC_INLINE T add(T a, T b) { FORGENET_LANES(a.v[i] + b.v[i]) }
  FORGENET_VEC_INLINE T sub(T a, T b) { FORGENET_LANES(a.v[i] - b.v[i]) }
  FORGENET_VEC_INLINE T mul(T a, T b) { FORGENET_LANES(a.v[i] * b.v[i]) }
  // as maxps/minps: the second operand when the comparison fails (NaN included)
  FORGENET_VEC_INLINE T max(T a, T b) { FORGENET_LANES(a.v[i] > b.v[i] ? a.v[i] : b.v[i]) }
  FORGENET_VEC_INLINE T min(T a, T b) { FORGENET_LANES(a.v[i] < b.v[i] ? a.v[i] : b.v[i]) }
  // not fused: a baseline x86-64 has no FMA, and fmaf would be a library call per lane
  FORGENET_VEC_INLINE T fma(T a, T b, T c) { FORGENET_LANES(a.v[i] * b.v[i] + c.v[i]) }
  FORGENET_VEC_INLINE T fms(T a, T b, T c) { FORGENET_LANES(a.v[i] * b.v[i] - c.v[i]) }
#undef FORGENET_LANES
  FORGENET_VEC_INLINE float hsum(T x) { return (x.v[0] + x.v[2]) + (x.v[1] + x.v[3]); }
  FORGENET_VEC_INLINE float hmax(T x) {
    const float a = x.v[0] > x.v[2] ? x.v[0] : x.v[2], b = x.v[1] > x.v[3] ? x.v[1] : x.v[3];
    return a > b ? a : b;
  }
  // The AVX2 algorithm lane by lane (same clamps, same rounding trick, same polynomial).
  FORGENET_VEC_INLINE T exp2(T x) {
    T r;
    for (int i = 0; i < W; ++i) {
      float v = x.v[i];
      v = -127.0f > v ? -127.0f : v;
      v = 127.0f < v ? 127.0f : v;
      const float shifter = 12582912.0f + 127.0f;
      const float t = v + shifter, f = v - (t - shifter);
      float p = kExp2Poly[0];
      for (int k = 1; k < 6; ++k) p = p * f + kExp2Poly[k];
      uint32_t bits;
      std::memcpy(&bits, &t, 4);
      bits <<= 23;
      float scale;
      std::memcpy(&scale, &bits, 4);
      r.v[i] = p * scale;
    }
    return r;
  }
  FORGENET_VEC_INLINE T exp(T x) { return exp2(mul(x, set1(kLog2e))); }
};

#if defined(__AVX2__) && defined(__FMA__)
template <>
struct Vec<Isa::avx2> {
  using T = __m256;
  static constexpr int W = 8;
  FORGENET_VEC_INLINE T zero() { return _mm256_setzero_ps(); }
  FORGENET_VEC_INLINE T set1(float x) { return _mm256_set1_ps(x); }
  FORGENET_VEC_INLINE T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  FORGENET_VEC_INLINE T load(const float* p) { return _mm256_loadu_ps(p); }
  FORGENET_VEC_INLINE T loada(const float* p) { return _mm256_load_ps(p); }
  FORGENET_VEC_INLINE void store(float* p, T x) { _mm256_storeu_ps(p, x); }
  FORGENET_VEC_INLINE void storea(float* p, T x) { _mm256_store_ps(p, x); }
  // lane i is active when i < n
  FORGENET_VEC_INLINE __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  FORGENET_VEC_INLINE T load_part(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  FORGENET_VEC_INLINE void store_part(float* p, T x, int n) { _mm256_maskstore_ps(p, mask(n), x); }
  FORGENET_VEC_INLINE T add(T a, T b) { return _mm256_add_ps(a, b); }
  FORGENET_VEC_INLINE T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  FORGENET_VEC_INLINE T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  FORGENET_VEC_INLINE T max(T a, T b) { return _mm256_max_ps(a, b); }
  FORGENET_VEC_INLINE T min(T a, T b) { return _mm256_min_ps(a, b); }
  FORGENET_VEC_INLINE T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  FORGENET_VEC_INLINE T fms(T a, T b, T c) { return _mm256_fmsub_ps(a, b, c); }

  // 2^x = 2^n * 2^r with n = round(x), |r| <= 1/2: 2^r by the polynomial, 2^n built in the exponent
  // bits. x is clamped to [-127, 127] first: n = -127 gives a scale of exactly 0, so 2^-inf = 0; NaN
  // passes the clamps (their second operand) and stays NaN through the multiply.
  FORGENET_VEC_INLINE T exp2(T x) {
    x = _mm256_max_ps(_mm256_set1_ps(-127.0f), x);
    x = _mm256_min_ps(_mm256_set1_ps(127.0f), x);
    // adding 1.5 * 2^23 rounds x to an integer held in the low mantissa bits; the extra 127 there
    // is the exponent bias, so that those bits shifted into the exponent field are 2^n itself
    const __m256 shifter = _mm256_set1_ps(12582912.0f + 127.0f);
    const __m256 t = _mm256_add_ps(x, shifter);
    const __m256 r = _mm256_sub_ps(x, _mm256_sub_ps(t, shifter));
    __m256 p = _mm256_set1_ps(kExp2Poly[0]);
    for (int k = 1; k < 6; ++k) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExp2Poly[k]));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(t), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
  FORGENET_VEC_INLINE T exp(T x) { return exp2(mul(x, set1(kLog2e))); }

  FORGENET_VEC_INLINE float hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  FORGENET_VEC_INLINE float hmax(T v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
  }
};
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__)
template <>
struct Vec<Isa::avx512> {
  using T = __m512;
  static constexpr int W = 16;
  FORGENET_VEC_INLINE T zero() { return _mm512_setzero_ps(); }
  FORGENET_VEC_INLINE T set1(float x) { return _mm512_set1_ps(x); }
  FORGENET_VEC_INLINE T bcast(const float* p) { return _mm512_set1_ps(*p); }
  FORGENET_VEC_INLINE T load(const float* p) { return _mm512_loadu_ps(p); }
  FORGENET_VEC_INLINE T loada(const float* p) { return _mm512_load_ps(p); }
  FORGENET_VEC_INLINE void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  FORGENET_VEC_INLINE void storea(float* p, T x) { _mm512_store_ps(p, x); }
  FORGENET_VEC_INLINE __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  FORGENET_VEC_INLINE T load_part(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  FORGENET_VEC_INLINE void store_part(float* p, T x, int n) { _mm512_mask_storeu_ps(p, mask(n), x); }
  FORGENET_VEC_INLINE T add(T a, T b) { return _mm512_add_ps(a, b); }
  FORGENET_VEC_INLINE T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  FORGENET_VEC_INLINE T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  FORGENET_VEC_INLINE T max(T a, T b) { return _mm512_max_ps(a, b); }
  FORGENET_VEC_INLINE T min(T a, T b) { return _mm512_min_ps(a, b); }
  FORGENET_VEC_INLINE T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  FORGENET_VEC_INLINE T fms(T a, T b, T c) { return _mm512_fmsub_ps(a, b, c); }

  // 2^x = 2^n * 2^r with n = round(x), |r| <= 1/2: the polynomial, then scalef by 2^n, which
  // underflows to exactly 0 (so 2^-inf = 0) and overflows to inf. The clamps let NaN through
  // (max/min return their second operand on NaN), so NaN stays NaN.
  FORGENET_VEC_INLINE T exp2(T x) {
    x = _mm512_max_ps(_mm512_set1_ps(-200.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(200.0f), x);
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 r = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(kExp2Poly[0]);
    for (int k = 1; k < 6; ++k) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExp2Poly[k]));
    return _mm512_scalef_ps(p, n);
  }
  FORGENET_VEC_INLINE T exp(T x) { return exp2(mul(x, set1(kLog2e))); }

  FORGENET_VEC_INLINE float hsum(T v) { return _mm512_reduce_add_ps(v); }
  FORGENET_VEC_INLINE float hmax(T v) { return _mm512_reduce_max_ps(v); }
};
#endif

// The names attention's micro-kernels use.
using GenericVec = Vec<Isa::generic>;
#if defined(__AVX2__) && defined(__FMA__)
using Avx2Vec = Vec<Isa::avx2>;
#endif
#if defined(__AVX512F__) && defined(__AVX512DQ__)
using Avx512Vec = Vec<Isa::avx512>;
#endif

}  // namespace
}  // namespace forgenet::simd

#undef FORGENET_VEC_INLINE

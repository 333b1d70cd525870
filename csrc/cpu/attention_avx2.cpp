// AVX2 + FMA attention (compiled with -mavx2 -mfma; entered only after best_isa()): the vector
// traits of attention_simd.h for ymm. The GEMM micro-kernel keeps a 6 x 16 block of C in 12 ymm
// registers (+ 2 for B + 1 broadcast: 15 of 16).
#include <immintrin.h>

#include "cpu/attention_simd.h"

namespace forgenet {

namespace {

struct Avx2Vec {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T x) { _mm256_storeu_ps(p, x); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T fms(T a, T b, T c) { return _mm256_fmsub_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }

  // 2^x = 2^n * 2^r with n = round(x), |r| <= 1/2: 2^r by a degree-5 polynomial (~2 ulp), 2^n built
  // in the exponent bits. x is clamped to [-127, 127] first: n = -127 gives a scale of exactly 0, so
  // 2^-inf = 0; NaN passes the clamps (their second operand) and stays NaN through the multiply.
  static T exp2(T x) {
    x = _mm256_max_ps(_mm256_set1_ps(-127.0f), x);
    x = _mm256_min_ps(_mm256_set1_ps(127.0f), x);
    // adding 1.5 * 2^23 rounds x to an integer held in the low mantissa bits; the extra 127 there
    // is the exponent bias, so that those bits shifted into the exponent field are 2^n itself
    const __m256 shifter = _mm256_set1_ps(12582912.0f + 127.0f);
    const __m256 t = _mm256_add_ps(x, shifter);
    const __m256 r = _mm256_sub_ps(x, _mm256_sub_ps(t, shifter));
    __m256 p = _mm256_set1_ps(1.327647129073739e-3f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(9.675541892647743e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.550713092088699e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(2.4022120237350464e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(6.931469440460205e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(t), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }

  static float hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }

  static float hmax(T v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
  }
};

#ifndef FORGENET_ATTN_AVX2_TILES  // (a build-time override for tuning experiments)
#define FORGENET_ATTN_AVX2_TILES 48, 256, 48, 96
#endif
// 6 x 16 register tile; forward 48 queries x 256 keys, backward 48 queries x 96 keys (a wider key
// block halves the Q, dO, dQ streaming per flop, which shows from N = 4096).
using Avx2Kernels = SimdKernels<Avx2Vec, 6, 2, FORGENET_ATTN_AVX2_TILES>;

}  // namespace

void attention_forward_avx2(const AttnShape& s, const float* q, const float* k, const float* v,
                            float* o, float* lse) {
  forward_tiles<Avx2Kernels>(s, q, k, v, o, lse);
}

void attention_backward_avx2(const AttnShape& s, const float* do_, const float* q, const float* k,
                             const float* v, const float* o, const float* lse, float* dq,
                             float* dk, float* dv) {
  backward_tiles<Avx2Kernels>(s, do_, q, k, v, o, lse, dq, dk, dv);
}

}  // namespace forgenet

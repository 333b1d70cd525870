// AVX-512 attention (compiled with -mavx512f...; entered only after best_isa()): the vector traits of
// attention_simd.h for zmm. The GEMM micro-kernel keeps an 8 x 32 block of C in 16 zmm registers
// (the tile of the project's AVX-512 SGEMM), which leaves room for B and the broadcasts.
#include <immintrin.h>

#include "cpu/attention_simd.h"

namespace forgenet {

namespace {

struct Avx512Vec {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T fms(T a, T b, T c) { return _mm512_fmsub_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }

  // 2^x = 2^n * 2^r with n = round(x), |r| <= 1/2: 2^r by a degree-5 polynomial (~2 ulp), then
  // scalef by 2^n, which underflows to exactly 0 (so 2^-inf = 0) and overflows to inf. The clamps let
  // NaN through (max/min return their second operand on NaN), so NaN scores stay NaN.
  static T exp2(T x) {
    x = _mm512_max_ps(_mm512_set1_ps(-200.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(200.0f), x);
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 r = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(1.327647129073739e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.675541892647743e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.550713092088699e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(2.4022120237350464e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(6.931469440460205e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
  }

  static float hsum(T v) { return _mm512_reduce_add_ps(v); }
  static float hmax(T v) { return _mm512_reduce_max_ps(v); }
};

// 8 x 32 register tile; forward 64 queries x 256 keys, backward 64 x 64.
using Avx512Kernels = SimdKernels<Avx512Vec, 8, 2, 64, 256, 64, 64>;

}  // namespace

void attention_forward_avx512(const AttnShape& s, const float* q, const float* k, const float* v,
                              float* o, float* lse) {
  forward_tiles<Avx512Kernels>(s, q, k, v, o, lse);
}

void attention_backward_avx512(const AttnShape& s, const float* do_, const float* q, const float* k,
                               const float* v, const float* o, const float* lse, float* dq,
                               float* dk, float* dv) {
  backward_tiles<Avx512Kernels>(s, do_, q, k, v, o, lse, dq, dk, dv);
}

}  // namespace forgenet

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

  // exp(x) to ~2 ulp: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, then scalef by 2^n (which
  // underflows to exactly 0 and overflows to inf). The clamps let NaN through (max/min return their
  // second operand on NaN), so NaN scores stay NaN.
  static T exp(T x) {
    x = _mm512_max_ps(_mm512_set1_ps(-110.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(100.0f), x);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
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

// AVX-512 micro-kernels for attention (compiled with -mavx512f...; entered only after best_isa()).
// The GEMM micro-kernel keeps a 6 x 64 block of C in 24 zmm registers (BLIS style); every attention
// product (Q K^T, P V, dO V^T, P^T dO, dS^T Q, dS K) is a call to it with small m, n, k.
#include <immintrin.h>

#include "cpu/attention_tiles.h"

namespace forgenet {

namespace {

// exp(x) to ~2 ulp: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, then scalef by 2^n (which
// underflows to exactly 0 and overflows to inf). The clamps let NaN through (max/min return their
// second operand on NaN), so NaN scores stay NaN.
inline __m512 exp512(__m512 x) {
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

template <bool TA, int MR, int NV>
void micro(int64_t kk, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
           int64_t ldc, bool acc) {
  __m512 c[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j)
      c[i][j] = acc ? _mm512_loadu_ps(C + i * ldc + 16 * j) : _mm512_setzero_ps();
  for (int64_t p = 0; p < kk; ++p) {
    __m512 b[NV];
    for (int j = 0; j < NV; ++j) b[j] = _mm512_loadu_ps(B + p * ldb + 16 * j);
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(TA ? A[p * lda + i] : A[i * lda + p]);
      for (int j = 0; j < NV; ++j) c[i][j] = _mm512_fmadd_ps(a, b[j], c[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) _mm512_storeu_ps(C + i * ldc + 16 * j, c[i][j]);
}

using MicroFn = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t, bool);

template <bool TA, int MR>
constexpr MicroFn pick_nv(int nv) {
  return nv == 4 ? micro<TA, MR, 4> : nv == 3 ? micro<TA, MR, 3> : nv == 2 ? micro<TA, MR, 2> : micro<TA, MR, 1>;
}

template <bool TA>
MicroFn pick(int mr, int nv) {
  switch (mr) {
    case 6: return pick_nv<TA, 6>(nv);
    case 5: return pick_nv<TA, 5>(nv);
    case 4: return pick_nv<TA, 4>(nv);
    case 3: return pick_nv<TA, 3>(nv);
    case 2: return pick_nv<TA, 2>(nv);
    default: return pick_nv<TA, 1>(nv);
  }
}

struct Avx512Kernels {
  static constexpr int W = 16;
  static constexpr int MR = 6, NV = 4;

  template <bool TA>
  static void gemm(int64_t m, int64_t n, int64_t kk, const float* A, int64_t lda, const float* B,
                   int64_t ldb, float* C, int64_t ldc, bool acc) {
    for (int64_t j0 = 0; j0 < n; j0 += NV * W) {
      const int nv = static_cast<int>(lo(NV, (n - j0) / W));
      const MicroFn full = pick<TA>(MR, nv);
      int64_t i0 = 0;
      for (; i0 + MR <= m; i0 += MR)
        full(kk, TA ? A + i0 : A + i0 * lda, lda, B + j0, ldb, C + i0 * ldc + j0, ldc, acc);
      if (i0 < m)
        pick<TA>(static_cast<int>(m - i0), nv)(kk, TA ? A + i0 : A + i0 * lda, lda, B + j0, ldb,
                                               C + i0 * ldc + j0, ldc, acc);
    }
  }

  static float row_max(const float* x, int64_t n) {
    __m512 m = _mm512_set1_ps(kNegInf);
    for (int64_t i = 0; i < n; i += W) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    return _mm512_reduce_max_ps(m);
  }

  static float exp_sum(float* x, int64_t n, float a, float b) {
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    __m512 s = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += W) {
      const __m512 e = exp512(_mm512_fmsub_ps(va, _mm512_loadu_ps(x + i), vb));
      _mm512_storeu_ps(x + i, e);
      s = _mm512_add_ps(s, e);
    }
    return _mm512_reduce_add_ps(s);
  }

  static void ds_row(float* dp, const float* p, int64_t n, float D, float scale) {
    const __m512 vd = _mm512_set1_ps(D), vs = _mm512_set1_ps(scale);
    for (int64_t i = 0; i < n; i += W) {
      const __m512 t = _mm512_sub_ps(_mm512_loadu_ps(dp + i), vd);
      _mm512_storeu_ps(dp + i, _mm512_mul_ps(_mm512_mul_ps(vs, _mm512_loadu_ps(p + i)), t));
    }
  }

  static void scale_row(float* x, int64_t n, float a) {
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += W) _mm512_storeu_ps(x + i, _mm512_mul_ps(va, _mm512_loadu_ps(x + i)));
  }
};

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

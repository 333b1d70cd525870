// AVX2 + FMA micro-kernels for attention (compiled with -mavx2 -mfma; entered only after best_isa()).
// The GEMM micro-kernel keeps a 6 x 16 block of C in 12 ymm registers (of the 16 AVX2 has).
#include <immintrin.h>

#include "cpu/attention_tiles.h"

namespace forgenet {

namespace {

// exp(x): x = n ln2 + r, degree-6 polynomial in r, 2^n built in the exponent bits. Inputs below
// -87.3 give exactly 0 (so exp(-inf) = 0); NaN passes the clamps (second operand) and stays NaN.
inline __m256 exp256(__m256 x) {
  const __m256 tiny = _mm256_set1_ps(-87.3365f);
  const __m256 under = _mm256_cmp_ps(x, tiny, _CMP_LT_OQ);
  x = _mm256_max_ps(tiny, x);
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

template <bool TA, int MR, int NV>
void micro(int64_t kk, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
           int64_t ldc, bool acc) {
  __m256 c[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j)
      c[i][j] = acc ? _mm256_loadu_ps(C + i * ldc + 8 * j) : _mm256_setzero_ps();
  for (int64_t p = 0; p < kk; ++p) {
    __m256 b[NV];
    for (int j = 0; j < NV; ++j) b[j] = _mm256_loadu_ps(B + p * ldb + 8 * j);
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(TA ? A + p * lda + i : A + i * lda + p);
      for (int j = 0; j < NV; ++j) c[i][j] = _mm256_fmadd_ps(a, b[j], c[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) _mm256_storeu_ps(C + i * ldc + 8 * j, c[i][j]);
}

using MicroFn = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t, bool);

template <bool TA>
MicroFn pick(int mr, int nv) {
  switch (mr) {
    case 6: return nv == 2 ? micro<TA, 6, 2> : micro<TA, 6, 1>;
    case 5: return nv == 2 ? micro<TA, 5, 2> : micro<TA, 5, 1>;
    case 4: return nv == 2 ? micro<TA, 4, 2> : micro<TA, 4, 1>;
    case 3: return nv == 2 ? micro<TA, 3, 2> : micro<TA, 3, 1>;
    case 2: return nv == 2 ? micro<TA, 2, 2> : micro<TA, 2, 1>;
    default: return nv == 2 ? micro<TA, 1, 2> : micro<TA, 1, 1>;
  }
}

struct Avx2Kernels {
  static constexpr int W = 8;
  static constexpr int MR = 6, NV = 2;

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
    __m256 m = _mm256_set1_ps(kNegInf);
    for (int64_t i = 0; i < n; i += W) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    return hmax(m);
  }

  static float exp_sum(float* x, int64_t n, float a, float b) {
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    __m256 s = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += W) {
      const __m256 e = exp256(_mm256_fmsub_ps(va, _mm256_loadu_ps(x + i), vb));
      _mm256_storeu_ps(x + i, e);
      s = _mm256_add_ps(s, e);
    }
    return hsum(s);
  }

  static void ds_row(float* dp, const float* p, int64_t n, float D, float scale) {
    const __m256 vd = _mm256_set1_ps(D), vs = _mm256_set1_ps(scale);
    for (int64_t i = 0; i < n; i += W) {
      const __m256 t = _mm256_sub_ps(_mm256_loadu_ps(dp + i), vd);
      _mm256_storeu_ps(dp + i, _mm256_mul_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(p + i)), t));
    }
  }

  static void scale_row(float* x, int64_t n, float a) {
    const __m256 va = _mm256_set1_ps(a);
    for (int64_t i = 0; i < n; i += W) _mm256_storeu_ps(x + i, _mm256_mul_ps(va, _mm256_loadu_ps(x + i)));
  }
};

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

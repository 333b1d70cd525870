// Attention dispatch and the generic (any CPU) micro-kernels. The tile loops live in
// attention_tiles.h; the SIMD micro-kernels in attention_avx2.cpp / attention_avx512.cpp.
#include "cpu/attention.h"

#include <algorithm>

#include "common/workspace.h"
#include "cpu/attention_tiles.h"
#include "cpu/cpu_features.h"

namespace forgenet {

float* attention_scratch(int64_t n, const char* what) {
  thread_local GrowBuffer arena;  // consistent after a failed growth: the next call retries
  if (n < 0) out_of_memory(what, -1);
  return arena.get(n, what);
}

int64_t attention_size_mul(int64_t a, int64_t b) {
  int64_t r;
  return a < 0 || b < 0 || !mul_fits(a, b, &r) ? -1 : r;
}

int64_t attention_size_add(int64_t a, int64_t b) {
  int64_t r;
  return a < 0 || b < 0 || !add_fits(a, b, &r) ? -1 : r;
}

namespace {

// Plain loops over a small register tile; the compiler vectorises them for the baseline ISA.
struct GenericKernels {
  static constexpr int W = 8, MR = 4, NR = 8;
  static constexpr int64_t kFwdBq = 64, kFwdBk = 256, kBq = 64, kBk = 64;

  template <bool ROWS>
  static void gemm(int64_t m, int64_t n, int64_t kk, const float* A, int64_t sa, const float* Bp, int64_t bs,
                   float* C, int64_t ldc, bool acc) {
    for (int64_t j0 = 0; j0 < n; j0 += NR, Bp += bs)
      for (int64_t i0 = 0; i0 < m; i0 += MR) {
        float c[MR][NR] = {};
        const float* b = Bp;
        for (int64_t p = 0; p < kk; ++p, b += NR)
          for (int i = 0; i < MR; ++i) {
            const float a = ROWS ? A[(i0 + i) * sa + p] : A[p * sa + i0 + i];
            for (int j = 0; j < NR; ++j) c[i][j] += a * b[j];
          }
        for (int i = 0; i < MR; ++i) {
          float* crow = C + (i0 + i) * ldc + j0;
          for (int j = 0; j < NR; ++j) crow[j] = acc ? crow[j] + c[i][j] : c[i][j];
        }
      }
  }

  static float row_max(const float* x, int64_t n) {
    float m = kNegInf;
    for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
  }

  static float exp_sum(float* x, int64_t n, float a, float b) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      x[i] = std::exp2(a * x[i] - b);
      s += x[i];
    }
    return s;
  }

  static void ds_row(float* dp, const float* p, int64_t n, float D, float scale) {
    for (int64_t i = 0; i < n; ++i) dp[i] = scale * p[i] * (dp[i] - D);
  }

  static void scale_row(float* x, int64_t n, float a) {
    for (int64_t i = 0; i < n; ++i) x[i] *= a;
  }
};

}  // namespace

void attention_forward_generic(const AttnShape& s, const float* q, const float* k, const float* v,
                               float* o, float* lse) {
  forward_tiles<GenericKernels>(s, q, k, v, o, lse);
}

void attention_backward_generic(const AttnShape& s, const float* do_, const float* q, const float* k,
                                const float* v, const float* o, const float* lse, float* dq,
                                float* dk, float* dv) {
  backward_tiles<GenericKernels>(s, do_, q, k, v, o, lse, dq, dk, dv);
}

#if !defined(FORGENET_X86)
// Off x86 the SIMD files are not compiled; their entry points fall back to the generic kernels.
void attention_forward_avx2(const AttnShape& s, const float* q, const float* k, const float* v, float* o, float* lse) { attention_forward_generic(s, q, k, v, o, lse); }
void attention_forward_avx512(const AttnShape& s, const float* q, const float* k, const float* v, float* o, float* lse) { attention_forward_generic(s, q, k, v, o, lse); }
void attention_backward_avx2(const AttnShape& s, const float* a, const float* q, const float* k, const float* v, const float* o, const float* l, float* dq, float* dk, float* dv) { attention_backward_generic(s, a, q, k, v, o, l, dq, dk, dv); }
void attention_backward_avx512(const AttnShape& s, const float* a, const float* q, const float* k, const float* v, const float* o, const float* l, float* dq, float* dk, float* dv) { attention_backward_generic(s, a, q, k, v, o, l, dq, dk, dv); }
#endif

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse) {
  if (s.bh == 0 || s.nq == 0) return;  // nothing to write, however large the other dimensions
  if (s.nk == 0) {  // no keys: o = 0, lse = -inf (torch's answer for an empty key set)
    std::fill(o, o + s.bh * s.nq * s.dv, 0.0f);
    if (lse) std::fill(lse, lse + s.bh * s.nq, kNegInf);
    return;
  }
  switch (best_isa()) {
    case Isa::avx512: return attention_forward_avx512(s, q, k, v, o, lse);
    case Isa::avx2: return attention_forward_avx2(s, q, k, v, o, lse);
    default: return attention_forward_generic(s, q, k, v, o, lse);
  }
}

void attention_backward(const AttnShape& s, const float* do_, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, float* dq, float* dk,
                        float* dv) {
  if (s.bh == 0) return;
  if (s.nq == 0 || s.nk == 0) {  // no scores: every gradient is zero
    std::fill(dq, dq + s.bh * s.nq * s.d, 0.0f);
    std::fill(dk, dk + s.bh * s.nk * s.d, 0.0f);
    std::fill(dv, dv + s.bh * s.nk * s.dv, 0.0f);
    return;
  }
  switch (best_isa()) {
    case Isa::avx512: return attention_backward_avx512(s, do_, q, k, v, o, lse, dq, dk, dv);
    case Isa::avx2: return attention_backward_avx2(s, do_, q, k, v, o, lse, dq, dk, dv);
    default: return attention_backward_generic(s, do_, q, k, v, o, lse, dq, dk, dv);
  }
}

}  // namespace forgenet

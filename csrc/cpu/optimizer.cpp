// Fused optimizer updates: a plain loop the compiler vectorises (sqrt and divide included, thanks to
// -fno-math-errno), built twice: for any x86-64 (SSE2) and, entered after the run-time CPU check, for
// AVX2, which halves the time of the sqrt and divide. The AVX2 copy is a target("avx2") clone rather
// than an _avx2.cpp file because those are compiled with -mfma, and GCC would then contract the
// multiply-adds into fmas and round differently from the numpy code this replaced.
//
// Each element is a few flops against 20-28 bytes of traffic, so weights below a million elements stay
// on one thread: waking the team on a busy machine cost 8 ms at 300k elements, against 0.1 ms for the
// loop (as in embedding.cpp). Larger ones are cut into
// chunks, each a separate call of the plain loop (an OpenMP region around the loop itself kept it
// from vectorising well: 4x slower here).
#include "cpu/optimizer.h"

#include <algorithm>

#include "cpu/cpu_features.h"

namespace forgenet {

namespace {

constexpr int64_t kParallelFloats = int64_t(1) << 20;
constexpr int64_t kChunk = int64_t(1) << 15;

// NaN in either argument gives NaN, as numpy.maximum does.
inline float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

template <bool kAmsgrad>
__attribute__((always_inline)) inline void adam_body(float* __restrict var, const float* __restrict grad,
                                                     float* __restrict m, float* __restrict v,
                                                     float* __restrict vhat, int64_t n, float alpha, float c1,
                                                     float c2, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float mi = m[i] + (g - m[i]) * c1;
    float vi = v[i] + (g * g - v[i]) * c2;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAmsgrad) {
      vi = nan_max(vhat[i], vi);
      vhat[i] = vi;
    }
    var[i] -= (mi * alpha) / (__builtin_sqrtf(vi) + eps);
  }
}

template <bool kAmsgrad>
void adam_generic(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha, float c1,
                  float c2, float eps) {
  adam_body<kAmsgrad>(var, grad, m, v, vhat, n, alpha, c1, c2, eps);
}

#ifdef FORGENET_X86
template <bool kAmsgrad>
__attribute__((target("avx2"))) void adam_avx2(float* var, const float* grad, float* m, float* v, float* vhat,
                                                int64_t n, float alpha, float c1, float c2, float eps) {
  adam_body<kAmsgrad>(var, grad, m, v, vhat, n, alpha, c1, c2, eps);
}
#endif

using AdamFn = void (*)(float*, const float*, float*, float*, float*, int64_t, float, float, float, float);

AdamFn adam_kernel(bool amsgrad) {
#ifdef FORGENET_X86
  static const bool avx2 = best_isa() >= Isa::avx2;
  if (avx2) return amsgrad ? adam_avx2<true> : adam_avx2<false>;
#endif
  return amsgrad ? adam_generic<true> : adam_generic<false>;
}

}  // namespace

void adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha, float c1,
                 float c2, float eps) {
  if (n <= 0) return;
  const AdamFn f = adam_kernel(vhat != nullptr);
  if (n <= kParallelFloats) return f(var, grad, m, v, vhat, n, alpha, c1, c2, eps);
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunk, len = std::min(kChunk, n - b);
    f(var + b, grad + b, m + b, v + b, vhat ? vhat + b : nullptr, len, alpha, c1, c2, eps);
  }
}

}  // namespace forgenet

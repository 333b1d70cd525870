// Fused optimizer updates: plain loops the compiler vectorises (sqrt and divide included, thanks to
// -fno-math-errno). Each element does a few flops against 20-28 bytes of traffic, so small weights
// stay on one thread: waking the team costs more than the loop below a few hundred thousand elements.
#include "cpu/optimizer.h"

namespace forgenet {

namespace {

constexpr int64_t kParallelFloats = int64_t(1) << 18;

// NaN in either argument gives NaN, as numpy.maximum does.
inline float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

template <bool kAmsgrad>
void adam_loop(float* __restrict var, const float* __restrict grad, float* __restrict m, float* __restrict v,
               float* __restrict vhat, int64_t n, float alpha, float c1, float c2, float eps) {
#pragma omp parallel for simd schedule(static) if (n > kParallelFloats)
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

}  // namespace

void adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha, float c1,
                 float c2, float eps) {
  if (n <= 0) return;
  if (vhat)
    adam_loop<true>(var, grad, m, v, vhat, n, alpha, c1, c2, eps);
  else
    adam_loop<false>(var, grad, m, v, nullptr, n, alpha, c1, c2, eps);
}

}  // namespace forgenet

// AVX2 + FMA Winograd passes (compiled with -mavx2 -mfma; entered only after best_isa()): the vector
// traits of conv_winograd_impl.h for ymm. The GEMM's register tile is 6 x 16 (12 accumulators + 2 B
// vectors + 1 broadcast of 16 ymm).
#include <immintrin.h>

#include "cpu/conv_winograd_impl.h"

namespace forgenet::winograd {

namespace {
struct Avx2Vec {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float a) { return _mm256_set1_ps(a); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T a) { _mm256_storeu_ps(p, a); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
};
using Avx2Winograd = Winograd<Avx2Vec, 2>;
static_assert(Avx2Winograd::NR == 16, "panel_width(false) must match the AVX2 register tile");
}  // namespace

void transform_kernel_avx2(const Plan& p, const Taps3x3& taps, float* u) { Avx2Winograd::transform_kernel(p, taps, u); }
void run_avx2(const Plan& p, const float* x, float* y) { Avx2Winograd::run(p, x, y); }
void kernel_gradient_avx2(const Plan& p, const float* x, const float* dy, float* du, int64_t cinp) {
  Avx2Winograd::kernel_gradient(p, x, dy, du, cinp);
}
void untransform_kernel_avx2(const Plan& p, const float* du, int64_t cinp, float* dk) {
  Avx2Winograd::untransform_kernel(p, du, cinp, dk);
}

}  // namespace forgenet::winograd

// AVX-512 Winograd passes (compiled with -mavx512f etc.; entered only after best_isa()): the vector
// traits of conv_winograd_impl.h for zmm. The GEMM's register tile is 6 x 32 (12 accumulators of 32 zmm,
// room left for the B vectors and broadcasts). Not run on the AVX2-only development machine: the
// tests exercise it wherever the CPU has AVX-512 (FORGENET_ISA caps it to compare with AVX2).
#include <immintrin.h>

#include "cpu/conv_winograd_impl.h"

namespace forgenet::winograd {

namespace {
struct Avx512Vec {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float a) { return _mm512_set1_ps(a); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T a) { _mm512_storeu_ps(p, a); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
};
using Avx512Winograd = Winograd<Avx512Vec, 2>;
static_assert(Avx512Winograd::NR == 32, "panel_width(true) must match the AVX-512 register tile");
}  // namespace

void transform_kernel_avx512(const Plan& p, const Taps3x3& taps, float* u) { Avx512Winograd::transform_kernel(p, taps, u); }
void run_avx512(const Plan& p, const float* x, float* y) { Avx512Winograd::run(p, x, y); }
void kernel_gradient_avx512(const Plan& p, const float* x, const float* dy, float* du, int64_t cinp) {
  Avx512Winograd::kernel_gradient(p, x, dy, du, cinp);
}
void untransform_kernel_avx512(const Plan& p, const float* du, int64_t cinp, float* dk) {
  Avx512Winograd::untransform_kernel(p, du, cinp, dk);
}

}  // namespace forgenet::winograd

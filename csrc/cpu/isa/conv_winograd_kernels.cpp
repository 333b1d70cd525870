// The Winograd F(2x2, 3x3) passes of conv_winograd_impl.h, built per ISA over simd::Vec (dispatch.h).
// The register tile is kMr x two vectors: 6 x 16 on AVX2 (12 accumulators + 2 B vectors + 1 broadcast
// of 16 ymm), 6 x 32 on AVX-512, 6 x 8 generic. The generic build runs only when forced
// (FORGENET_CONV2D_WINOGRAD=1): the rule in conv_winograd.cpp keeps generic CPUs on the implicit GEMM.
#include "cpu/dispatch.h"
#include "cpu/conv_winograd_impl.h"

namespace forgenet::FORGENET_ISA_NS {

namespace {
using Passes = winograd::Winograd<V, 2>;
static_assert(Passes::NR == 2 * V::W, "winograd::panel_width must match the register tile");
}  // namespace

void winograd_transform_kernel(const winograd::Plan& p, const Taps3x3& taps, float* u, int64_t b0, int64_t b1) {
  Passes::transform_kernel(p, taps, u, b0, b1);
}
void winograd_run(const winograd::Plan& p, const float* x, float* y) { Passes::run(p, x, y); }
void winograd_kernel_gradient_pass(const winograd::Plan& p, const float* x, const float* dy, int64_t cinp,
                                   int64_t blk0, int64_t blk1, int64_t jp0, int64_t jp1, float* work, float* du) {
  Passes::kernel_gradient(p, x, dy, cinp, blk0, blk1, jp0, jp1, work, du);
}
void winograd_untransform_kernel(const winograd::Plan& p, const float* du, int copies, int64_t cinp, float* dk,
                                 int64_t i0, int64_t i1) {
  Passes::untransform_kernel(p, du, copies, cinp, dk, i0, i1);
}

}  // namespace forgenet::FORGENET_ISA_NS

// Depthwise convolution: direct loops, channels innermost. Each tap of each output pixel is one
// multiply-add over a contiguous run of C*M channels (x's run of C broadcast over M when M > 1), in
// isa/depthwise_conv2d_kernels.cpp (built generic and avx2).
//
// Forward threads split output rows (n, oh). The backward scatters into dx, so threads split the batch
// (each owns its images' dx) and keep private dkernel/dbias partials, added in thread order afterwards:
// deterministic for a given thread count, no atomics.
#include "cpu/depthwise_conv2d.h"

#include <cstring>

#include "common/workspace.h"
#include "cpu/isa/depthwise_conv2d_kernels.h"
#include "cpu/parallel.h"

namespace forgenet {

void depthwise_conv2d_forward(const DepthwiseGeom& g, const float* x, const float* kernel, const float* bias,
                              float* y) {
  parallel_for(0, g.n * g.ho, grain_for(g.wo * g.c * g.m), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      FORGENET_ISA_CALL_UPTO_AVX2(dw_forward_row, g, x, kernel, bias, y, r / g.ho, r % g.ho);
  });
}

void depthwise_conv2d_backward(const DepthwiseGeom& g, const float* dy, const float* x, const float* kernel,
                               float* dx, float* dkernel, float* dbias) {
  const int64_t cm = g.c * g.m, ksize = g.kh * g.kw * cm;
  if (dx) std::memset(dx, 0, sizeof(float) * static_cast<size_t>(g.n * g.h * g.w * g.c));
  const int64_t grain = grain_for(g.ho * g.wo * cm);
  const int chunks = parallel_chunks(g.n, grain);
  const int64_t stride = Scratch::floats(ksize + (dbias ? cm : 0));
  Scratch s(chunks * stride, "depthwise_conv2d_backward's per-thread kernel gradients");
  float* part = s.take(chunks * stride);
  std::memset(part, 0, sizeof(float) * static_cast<size_t>(chunks * stride));  // (no images: no chunks)
  parallel_for_chunks(0, g.n, grain, [&](int k, int64_t n0, int64_t n1) {
    float* dk = part + k * stride;
    float* db = dbias ? dk + ksize : nullptr;
    for (int64_t n = n0; n < n1; ++n) FORGENET_ISA_CALL_UPTO_AVX2(dw_backward_image, g, dy, x, kernel, dx, dk, db, n);
  });
  for (int64_t j = 0; j < ksize + (dbias ? cm : 0); ++j) {
    float acc = 0.0f;
    for (int k = 0; k < chunks; ++k) acc += part[k * stride + j];
    if (j < ksize)
      dkernel[j] = acc;
    else
      dbias[j - ksize] = acc;
  }
}

}  // namespace forgenet

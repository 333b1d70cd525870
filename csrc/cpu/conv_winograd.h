// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (NHWC, any padding): each 2x2 block of outputs
// ("tile") comes from a 4x4 block of input through 16 element-wise products per channel pair instead
// of 36, i.e. 16 independent GEMMs (tiles x cin) @ (cin x cout) between the transformed input
// V = B^T d B and the transformed kernel U = G g G^T, followed by y = A^T M A. F(2x2) rather than
// F(4x4): its transforms hold only 0, +-1 and 1/2, so float32 keeps the direct convolution's accuracy
// (F(4x4) loses about a digit), and 2.25x fewer multiply-adds already beat the implicit GEMM by more
// than the transforms cost from 16 channels each side (see winograd_applies).
// Used by conv2d_forward, by conv2d_backward's dkernel, and by its stride-1 dx (a 3x3 conv of dy with the kernel
// flipped in space and transposed in channels, described by Taps3x3's strides, so no flipped copy).
#pragma once
#include <cstdint>

#include "common/window2d.h"
#include "cpu/cpu_features.h"
#include "cpu/dispatch.h"

namespace forgenet {

// Kernel tap (kh, kw) from input channel i to output channel o is w[kh*s_kh + kw*s_kw + i*s_i + o*s_o].
struct Taps3x3 {
  const float* w;
  int64_t s_kh, s_kw, s_i, s_o;
};

// The one rule for both users: a 3x3 stride-1 window on a SIMD CPU, with enough channels and output
// that the transforms pay. FORGENET_CONV2D_WINOGRAD=0 turns the path off, =1 takes it for every
// window it can do (tests reach small shapes with it; the old path stays available for comparison).
bool winograd_applies(const Window2d& g, int64_t cout);

// y (n, ho, wo, cout) = conv(x, taps) + bias (bias may be null) for a window winograd_applies accepts.
void winograd_conv3x3(const Window2d& g, int64_t cout, const float* x, const Taps3x3& taps,
                      const float* bias, float* y);

// dkernel (3, 3, cin, cout) of that convolution for output gradient dy: dU = sum over tiles of
// V^T (A dy A^T), then dkernel = G^T dU G (the adjoint of each step of the forward).
void winograd_kernel_gradient(const Window2d& g, int64_t cout, const float* x, const float* dy, float* dkernel);

namespace winograd {

// One call's layout, shared by the ISA files. Tiles t = (n * tiles_h + th) * tiles_w + tw go in blocks
// of tb (a multiple of the micro-kernel's rows); a block's V (16 planes of tb x cin) and M (16 planes of
// tb x coutp) live in the thread's part of `work` and stay in L2 between the three passes.
// u: 16 planes, each coutp / nr panels of (cin x nr), columns past cout zero.
struct Plan {
  Window2d g;
  int64_t cout, coutp, nr;
  int64_t tiles_h, tiles_w, tiles, tb, blocks;
  int threads;
  const float* u;
  const float* bias;
  float* work;
  int64_t v_size, m_size;  // floats of V and of M per thread
};

constexpr int kMr = 6;  // rows (tiles) of the micro-kernel's register block, on both ISAs

// Columns per B panel for the ISA's micro-kernel (two vectors).
int64_t panel_width(Isa isa);

// Floats from one plane of a kernel gradient dU (cinp x coutp) to the next, and so from one thread's
// copy to the next: a cache line more than the plane, because the untransform reads all 16 planes of
// every copy together, and at a power-of-two stride (512 x 512: 1 MiB) they all fell in one cache set
// of L1 and of L2.
inline int64_t du_plane(int64_t cinp, int64_t coutp) { return cinp * coutp + 16; }

}  // namespace winograd
}  // namespace forgenet

// The passes, built per ISA (isa/conv_winograd_kernels.cpp). The kernel transforms take ranges of input
// channels (transform: blocks of panel_width / 2), the gradient pass a range of tile blocks and of dU's
// panels through one thread's V and M (work) into dU (du, 16 planes du_plane apart); the caller runs
// them on parallel_for. winograd_run threads itself (conv_winograd_impl.h says why).
FORGENET_ISA_DECLARE(void winograd_transform_kernel(const winograd::Plan& p, const Taps3x3& taps, float* u,
                                                    int64_t b0, int64_t b1))
FORGENET_ISA_DECLARE(void winograd_run(const winograd::Plan& p, const float* x, float* y))
FORGENET_ISA_DECLARE(void winograd_kernel_gradient_pass(const winograd::Plan& p, const float* x, const float* dy,
                                                        int64_t cinp, int64_t blk0, int64_t blk1, int64_t jp0,
                                                        int64_t jp1, float* work, float* du))
FORGENET_ISA_DECLARE(void winograd_untransform_kernel(const winograd::Plan& p, const float* du, int copies,
                                                      int64_t cinp, float* dk, int64_t i0, int64_t i1))

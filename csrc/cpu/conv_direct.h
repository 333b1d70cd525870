// Direct convolution for windows of few patch elements (KH * KW * Cin <= 32, e.g. a network's first
// layer on 1-3 channel images): the GEMM machinery's packing and tile set-up cost more than the few
// multiply-adds per output there, so these kernels read x (or a zero-padded copy of it) and the kernel
// as they are.
// Forward: per output line, tiles of 6 pixels x two vectors of output channels in registers, the
// patch elements broadcast straight from the input (kernel row by kernel row, each a contiguous run of
// KW * Cin floats), the kernel packed in blocks of the tile's width. dkernel: the same tile over (patch elements,
// output channels), summed over pixels. dx: per input pixel and channel, a dot product over the taps
// that reach it and the output channels (any stride and padding).
#pragma once
#include <cstdint>

#include "common/window2d.h"
#include "cpu/dispatch.h"

namespace forgenet {

// The rule: a window of at most direct::kMaxPatch patch elements that is not a plain 1x1 stride-1
// product; for the forward (forward true) also a wide window over few channels (a stem, 7x7 over RGB:
// Cin <= kWideMaxCin, at most kWideMaxPatch patch elements), where the implicit GEMM's four passes of
// 16 columns each re-stream the whole packed kernel (more than L1) past every tile of pixels.
// FORGENET_CONV2D_DIRECT=0 turns the path off, =1 takes it for every window but a 1x1 stride-1 one
// (tests compare both paths). conv2d_path asks Winograd's rule (conv_winograd.h) first; the two never
// overlap unforced (Winograd needs 16 input channels: 144 patch elements).
bool direct_applies(const Window2d& g, int64_t cout, bool forward);

// y = conv(x, kernel) + bias (bias may be null), for a window direct_applies accepts.
void direct_conv_forward(const Window2d& g, int64_t cout, const float* x, const float* kernel, const float* bias,
                         float* y);
// dkernel (KH, KW, Cin, cout) of that convolution for output gradient dy (overwritten).
void direct_kernel_gradient(const Window2d& g, int64_t cout, const float* x, const float* dy, float* dkernel);
// dx (N, H, W, Cin) of that convolution (overwritten).
void direct_input_gradient(const Window2d& g, int64_t cout, const float* dy, const float* kernel, float* dx);

namespace direct {
constexpr int64_t kMaxPatch = 32;
constexpr int64_t kWideMaxCin = 4, kWideMaxPatch = 7 * 7 * 4;
constexpr int kRows = 6;  // pixels (forward) or patch elements (dkernel) of the register tile

// One call's operands for the ISA files. The source holds images of src_h x src_w pixels (x or its
// padded copy); koff[k] is patch element k's offset from its window's corner there. w: the kernel as a
// (K, coutp) matrix, columns past cout zero; bias: coutp floats or null.
struct Args {
  Window2d g;
  int64_t cout, coutp, K;
  const float* src;
  int64_t src_h, src_w;
  const int64_t* koff;
};
}  // namespace direct

}  // namespace forgenet

// The leaf loops, built per ISA (isa/conv_direct_kernels.cpp). Lines l = n * Ho + oh of the chunk.
// forward: y rows of lines [l0, l1). kernel_gradient: dk (K x coutp) += patches^T dy over lines
// [l0, l1). input_gradient: dx of input lines r = n * H + ih in [r0, r1), the kernel as given.
// forward_block: the forward tile's width B; the forward's w holds blocks of B output channels, each a
// (K, B) matrix (K * B floats), block b from w + b * K * B.
FORGENET_ISA_DECLARE(int conv_direct_forward_block())
FORGENET_ISA_DECLARE(void conv_direct_forward(const direct::Args& a, const float* w, const float* bias, int64_t l0,
                                              int64_t l1, float* y))
FORGENET_ISA_DECLARE(void conv_direct_kernel_gradient(const direct::Args& a, const float* dy, int64_t l0, int64_t l1,
                                                      float* dk))
FORGENET_ISA_DECLARE(void conv_direct_input_gradient(const Window2d& g, int64_t cout, const float* dy,
                                                     const float* kernel, int64_t r0, int64_t r1, float* dx))

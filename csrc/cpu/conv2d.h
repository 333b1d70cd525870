// 2-D convolution (cross-correlation, as Keras/PyTorch) on NHWC tensors.
// x (N, H, W, Cin), kernel (KH, KW, Cin, Cout) -- row-major it is a (KH*KW*Cin, Cout) matrix --
// y (N, Ho, Wo, Cout). Geometry (strides, 'same'/'valid' padding) comes in a Window2d with c = Cin.
#pragma once
#include <cstdint>

#include "common/window2d.h"

namespace forgenet {

// y = conv(x, kernel) + bias; bias may be null.
void conv2d_forward(const Window2d& g, int64_t cout, const float* x, const float* kernel,
                    const float* bias, float* y);

// Gradients of sum(dy * y) with respect to x, kernel and bias. Every output is overwritten;
// dx may be null (a first layer needs no input gradient), and dbias (a convolution without bias).
void conv2d_backward(const Window2d& g, int64_t cout, const float* dy, const float* x,
                     const float* kernel, float* dx, float* dkernel, float* dbias);

// Whether the forward (input_gradient false) or the dx of the backward runs Winograd F(2x2, 3x3).
bool conv2d_uses_winograd(const Window2d& g, int64_t cout, bool input_gradient);

// The engine each pass takes, the one rule conv2d_forward and conv2d_backward follow (tests assert it).
enum class ConvPath { pointwise, winograd, direct, implicit_gemm, col2im };
enum class ConvPass { forward, kernel_gradient, input_gradient };
ConvPath conv2d_path(const Window2d& g, int64_t cout, ConvPass pass);
const char* conv2d_path_name(ConvPath path);

}  // namespace forgenet

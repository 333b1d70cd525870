// Max and average pooling over NHWC on the GPU, the semantics of csrc/cpu/pooling.cpp: windows clipped
// to the input (padding never wins a max and is not counted in an average); a NaN in a window wins the
// max; the gradient of a max goes to the first maximal element in (kh, kw) order.
#pragma once
#include "cuda/api.h"
#include "cuda/window.h"

namespace forgenet::gpu {

cudaError_t max_pool2d_forward(const Window& g, const float* x, float* y, cudaStream_t stream);
cudaError_t avg_pool2d_forward(const Window& g, const float* x, float* y, cudaStream_t stream);
// dx is written (not accumulated into).
cudaError_t max_pool2d_backward(const Window& g, const float* dy, const float* x, float* dx, cudaStream_t stream);
cudaError_t avg_pool2d_backward(const Window& g, const float* dy, float* dx, cudaStream_t stream);

}  // namespace forgenet::gpu

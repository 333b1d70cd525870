// Depthwise 2-D convolution on the GPU: csrc/cpu/depthwise_conv2d.h's semantics (geometry in
// common/depthwise_geom.h) on device pointers, launched on `stream`; nothing synchronises.
#pragma once
#include "common/depthwise_geom.h"
#include "cuda/api.h"

namespace forgenet::gpu {

using forgenet::DepthwiseGeom;

cudaError_t depthwise_conv2d_forward(const DepthwiseGeom& g, const float* x, const float* kernel, const float* bias,
                                     float* y, cudaStream_t stream);

// dx may be null (skipped); dkernel and dbias are written. Deterministic (gathers, no atomics).
cudaError_t depthwise_conv2d_backward(const DepthwiseGeom& g, const float* dy, const float* x, const float* kernel,
                                      float* dx, float* dkernel, float* dbias, cudaStream_t stream);

}  // namespace forgenet::gpu

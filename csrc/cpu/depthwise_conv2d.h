#pragma once
#include <cstdint>

#include "common/depthwise_geom.h"

namespace forgenet {

// Geometry and layout: common/depthwise_geom.h.
void depthwise_conv2d_forward(const DepthwiseGeom& g, const float* x, const float* kernel, const float* bias,
                              float* y);

// dy (N, Ho, Wo, C*M) -> dx (or null to skip it), dkernel, dbias (or null).
void depthwise_conv2d_backward(const DepthwiseGeom& g, const float* dy, const float* x, const float* kernel,
                               float* dx, float* dkernel, float* dbias);

}  // namespace forgenet

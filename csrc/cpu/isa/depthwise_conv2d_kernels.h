// Depthwise convolution's per-ISA leaf loops (isa/depthwise_conv2d_kernels.cpp).
#pragma once
#include <cstdint>

#include "cpu/depthwise_conv2d.h"
#include "cpu/dispatch.h"

FORGENET_ISA_DECLARE(
    // output row (n, oh) of y
    void dw_forward_row(const DepthwiseGeom& g, const float* __restrict x, const float* __restrict k,
                        const float* __restrict bias, float* __restrict y, int64_t n, int64_t oh);
    // image n's backward: adds into dx (if not null; the whole tensor), dk and db (if not null)
    void dw_backward_image(const DepthwiseGeom& g, const float* __restrict dy, const float* __restrict x,
                           const float* __restrict k, float* __restrict dx, float* __restrict dk,
                           float* __restrict db, int64_t n))

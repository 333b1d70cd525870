// BatchNorm's per-ISA row loops (isa/batchnorm_rows.cpp), channels-last rows [r0, r1) of C channels.
#pragma once
#include <cstdint>

#include "cpu/dispatch.h"

FORGENET_ISA_DECLARE(
    // a1 += x - k, a2 += (x - k)^2, per channel
    void bn_stats_rows(const float* __restrict x, int64_t r0, int64_t r1, int64_t c, const float* __restrict k,
                       float* __restrict a1, float* __restrict a2);
    // a1 += dy, a2 += dy * (x - m)
    void bn_grad_rows(const float* __restrict x, const float* __restrict dy, int64_t r0, int64_t r1, int64_t c,
                      const float* __restrict m, float* __restrict a1, float* __restrict a2);
    // y = (x - m) * a + b, or y = x * a when m and b are null
    void bn_apply_rows(const float* __restrict x, int64_t r0, int64_t r1, int64_t c, const float* __restrict m,
                       const float* __restrict a, const float* __restrict b, float* __restrict y);
    // out = a * dy + b * (x - m) + cc
    void bn_dx_rows(const float* __restrict x, const float* __restrict dy, int64_t r0, int64_t r1, int64_t c,
                    const float* __restrict m, const float* __restrict a, const float* __restrict b,
                    const float* __restrict cc, float* __restrict out))

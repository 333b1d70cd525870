// The optimizers' per-ISA loops over elements [b, e) (isa/optimizer_kernels.cpp).
#pragma once
#include <cstdint>

#include "common/optimizer_math.h"
#include "cpu/dispatch.h"

FORGENET_ISA_DECLARE(
    void adam_span(int64_t b, int64_t e, float* var, const float* grad, float* m, float* v, float* vhat,
                   float alpha, float c1, float c2, float eps);
    void sgd_span(int64_t b, int64_t e, float* var, const float* grad, float* m, float lr, float momentum,
                  bool nesterov);
    void rmsprop_span(int64_t b, int64_t e, float* var, const float* grad, float* v, float* avg, float* mom,
                      float lr, float rho, float c, float momentum, float eps);
    void fused_span(int kind, int64_t b, int64_t e, float* var, const float* grad, float* s0, float* s1,
                    const opt::Consts& c))

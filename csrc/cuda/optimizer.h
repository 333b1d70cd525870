// Fused optimizer updates on the GPU: the math of csrc/cpu/optimizer.h on device pointers, launched on
// `stream`; each returns the launch error. One kernel per weight instead of one per CuPy ufunc.
#pragma once
#include "common/optimizer_math.h"
#include "cuda/api.h"

namespace forgenet::gpu {

// Adam in place: m += (g - m) c1; v += (g*g - v) c2; amsgrad (vhat != nullptr): vhat = max(vhat, v), used
// for v; var -= (m alpha) / (sqrt(v) + eps). c1 = 1 - beta_1 and c2 = 1 - beta_2 as floats. n elements.
cudaError_t adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha,
                        float c1, float c2, float eps, cudaStream_t stream);

// SGD in place: s = g lr; var -= s without momentum (m == nullptr), else m = m momentum - s and var += m
// (nesterov: var += m momentum - s).
cudaError_t sgd_update(float* var, const float* grad, float* m, int64_t n, float lr, float momentum, bool nesterov,
                       cudaStream_t stream);

// RMSprop in place: v = v rho + (g*g) c; den = v + eps, or centered (avg != nullptr) avg = avg rho + g c and
// den = (v - avg*avg) + eps; inc = (g lr) / sqrt(den); var -= inc, or with momentum (mom != nullptr)
// mom = mom momentum + inc and var -= mom. c = 1 - rho as a float.
cudaError_t rmsprop_update(float* var, const float* grad, float* v, float* avg, float* mom, int64_t n, float lr,
                           float rho, float c, float momentum, float eps, cudaStream_t stream);

// Adagrad, Adadelta, Adamax, Nadam, Lion or Ftrl (kind: opt::Kind) in place, as csrc/cpu/optimizer.h's
// fused_update.
cudaError_t fused_update(int kind, float* var, const float* grad, float* s0, float* s1, int64_t n,
                         const opt::Consts& c, cudaStream_t stream);

}  // namespace forgenet::gpu

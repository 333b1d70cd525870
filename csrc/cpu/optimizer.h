// Optimizer updates fused into one pass per weight: each element of the weight and its slots is read
// and written once, instead of once per numpy ufunc. The formulas are Keras 3's, in float32, rounded
// in the order the numpy code of python/forgenet/optimizers/ (which these replaced) rounded them, so
// results are the same to the bit. Arrays are updated in place; n elements each; nothing may overlap.
#pragma once
#include <cstdint>

#include "common/optimizer_math.h"

namespace forgenet {

// Adam: m += (g - m) c1;  v += (g*g - v) c2;  amsgrad (vhat != nullptr): vhat = max(vhat, v), used for v;
// var -= (m alpha) / (sqrt(v) + eps), with c1 = 1 - beta_1, c2 = 1 - beta_2 rounded to float.
void adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha, float c1,
                 float c2, float eps);

// SGD: s = g lr;  without momentum (m == nullptr) var -= s;  else m = m momentum - s and
// var += m, or with nesterov var += m momentum - s.
void sgd_update(float* var, const float* grad, float* m, int64_t n, float lr, float momentum, bool nesterov);

// RMSprop: v = v rho + (g*g) c;  den = v + eps, or centered (avg != nullptr) avg = avg rho + g c and
// den = (v - avg*avg) + eps;  inc = (g lr) / sqrt(den);  var -= inc, or with momentum (mom != nullptr)
// mom = mom momentum + inc and var -= mom. c = 1 - rho rounded to float.
void rmsprop_update(float* var, const float* grad, float* v, float* avg, float* mom, int64_t n, float lr, float rho,
                    float c, float momentum, float eps);

// Adagrad, Adadelta, Adamax, Nadam, Lion or Ftrl (kind: opt::Kind) in place on var and its slots s0, s1
// (s1 nullptr for the one-slot kinds), with the constants the step's comment in common/optimizer_math.h lists.
void fused_update(int kind, float* var, const float* grad, float* s0, float* s1, int64_t n, const opt::Consts& c);

}  // namespace forgenet

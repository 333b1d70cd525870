// Optimizer updates fused into one pass per weight: each element of the weight and its slots is read
// and written once, instead of once per numpy ufunc.
#pragma once
#include <cstdint>

namespace forgenet {

// Adam (Keras 3's formulas, float32, in the order python/forgenet/optimizers/adam.py's numpy code used):
//   m += (g - m) * c1;  v += (g*g - v) * c2;  amsgrad (vhat != nullptr): vhat = max(vhat, v), used for v;
//   var -= (m * alpha) / (sqrt(v) + eps)
// with c1 = 1 - beta_1, c2 = 1 - beta_2 rounded to float. var, m, v, vhat are updated in place; n elements.
void adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha, float c1,
                 float c2, float eps);

}  // namespace forgenet

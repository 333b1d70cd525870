// Fused optimizer updates on the GPU: the math of csrc/cpu/optimizer.h on device pointers, launched on
// `stream`; each returns the launch error. One kernel per weight instead of one per CuPy ufunc.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

// Adam in place: m += (g - m) c1; v += (g*g - v) c2; amsgrad (vhat != nullptr): vhat = max(vhat, v), used
// for v; var -= (m alpha) / (sqrt(v) + eps). c1 = 1 - beta_1 and c2 = 1 - beta_2 as floats. n elements.
cudaError_t adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha,
                        float c1, float c2, float eps, cudaStream_t stream);

}  // namespace forgenet::gpu

// Batch normalisation on the GPU: the math of csrc/cpu/batchnorm.h on device pointers, x viewed as
// (outer, C, inner); launched on `stream`, each returns the launch error, nothing synchronises.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

// Training: writes the batch mean and (biased) var (C,) and y.
cudaError_t batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                     float* var, int64_t outer, int64_t c, int64_t inner, float eps,
                                     cudaStream_t stream);

// Inference with the given mean and var.
cudaError_t batch_norm_forward_infer(const float* x, const float* gamma, const float* beta, const float* mean,
                                     const float* var, float* y, int64_t outer, int64_t c, int64_t inner, float eps,
                                     cudaStream_t stream);

// dx, dgamma, dbeta; `training`: mean and var were the batch's own (see csrc/cpu/batchnorm.h).
cudaError_t batch_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean,
                                const float* var, float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t c,
                                int64_t inner, float eps, bool training, cudaStream_t stream);

}  // namespace forgenet::gpu

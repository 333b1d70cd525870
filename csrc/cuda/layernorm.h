// Layer normalisation over the last axis on the GPU: the math of csrc/cpu/layernorm.h on device
// pointers (x is (rows, cols)), launched on `stream`; each returns the launch error, nothing synchronises.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

// y = (x - mean) * rstd * gamma + beta; mean and rstd (rows,) are kept for the backward.
cudaError_t layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                               float* rstd, int64_t rows, int64_t cols, float eps, cudaStream_t stream);

// Scratch for the dgamma/dbeta partial sums (doubles, so it must be 8-byte aligned, as any allocation is);
// a smaller workspace is an error (cudaErrorInvalidValue).
int64_t layer_norm_backward_workspace_floats(int64_t rows, int64_t cols);

// dx (rows, cols), dgamma and dbeta (cols,). Deterministic (no atomics).
cudaError_t layer_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean,
                                const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows,
                                int64_t cols, float* workspace, int64_t workspace_floats, cudaStream_t stream);

}  // namespace forgenet::gpu

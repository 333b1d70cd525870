// Softmax family on the GPU: the math of csrc/cpu/softmax.h, on device pointers, launched on `stream`.
// Each returns the launch error (cudaSuccess when fine); nothing here synchronises.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

cudaError_t softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, cudaStream_t stream);
cudaError_t softmax_backward_rows(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols,
                                  cudaStream_t stream);
// loss (rows,), grad (rows, cols) = softmax(logits) - onehot(labels). A label outside [0, cols) (which
// the ops layer rejects before this) gives that row a NaN loss and NaN grad, never an out-of-bounds read.
cudaError_t softmax_xent_sparse(const float* logits, const int64_t* labels, float* loss, float* grad,
                                int64_t rows, int64_t cols, cudaStream_t stream);
// grad = softmax(logits) * sum(target) - target, loss = sum target * (logsumexp - logits).
cudaError_t softmax_xent_dense(const float* logits, const float* target, float* loss, float* grad,
                               int64_t rows, int64_t cols, cudaStream_t stream);

}  // namespace forgenet::gpu

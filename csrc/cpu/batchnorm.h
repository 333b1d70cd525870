#pragma once
#include <cstdint>

namespace forgenet {

// Batch normalisation of x viewed as (outer, C, inner): channel c is normalised over the outer*inner
// elements x[o, c, i]. Keras's channels-last case (axis=-1) is inner = 1; NCHW (axis=1) is outer = N,
// inner = H*W. Variances are biased (divided by outer*inner), as Keras's moments.
//
// Training: mean and var (C,) are the batch statistics, written out, and
//   y = (x - mean) / sqrt(var + eps) * gamma + beta.
void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                              float* var, int64_t outer, int64_t c, int64_t inner, float eps);

// Inference: the same formula with the given (moving) mean and var.
void batch_norm_forward_infer(const float* x, const float* gamma, const float* beta, const float* mean,
                              const float* var, float* y, int64_t outer, int64_t c, int64_t inner, float eps);

// Gradients with xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps):
//   dgamma = sum dy * xhat, dbeta = sum dy (per channel), and
//   training (mean, var were the batch's): dx = gamma * rstd * (dy - dbeta / n - xhat * dgamma / n)
//   inference (they were constants):       dx = gamma * rstd * dy.
void batch_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean, const float* var,
                         float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t c, int64_t inner, float eps,
                         bool training);

}  // namespace forgenet

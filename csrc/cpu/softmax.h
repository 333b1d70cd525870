#pragma once
#include <cstdint>

namespace forgenet {

// Row-wise softmax of a (rows, cols) matrix.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);

// dx = y * (dy - sum(dy * y)) row-wise, the softmax Jacobian applied to dy.
void softmax_backward_rows(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);

// Fused softmax + cross-entropy on logits (rows, cols), one pass per row.
// Sparse targets: labels[r] in [0, cols). Dense targets: target (rows, cols) probabilities.
// loss[r] = -sum_c t[r,c] log softmax(x)[r,c];  grad[r,c] = softmax(x)[r,c] - t[r,c]
// (the gradient of loss[r] with respect to the row's logits). Returns the first bad label's row or -1.
int64_t softmax_xent_sparse(const float* logits, const int64_t* labels, float* loss, float* grad,
                            int64_t rows, int64_t cols);
void softmax_xent_dense(const float* logits, const float* target, float* loss, float* grad,
                        int64_t rows, int64_t cols);

}  // namespace forgenet

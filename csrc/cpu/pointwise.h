// Fused pointwise steps of a layer: a ReLU in place on a fresh output, and in the backward pass the ReLU mask applied to the incoming gradient
// (and, for a dense layer, the bias gradient taken in the same pass). numpy needs a boolean mask and
// a product array for `g * (y > 0)`, then another pass for the bias's column sums; these read g and y
// once and write the result once.
#pragma once
#include <cstdint>

namespace forgenet {

// x[i] = max(x[i], 0) in place (a NaN stays NaN, as numpy's maximum and torch's relu): the ReLU on a
// kernel's fresh output, where the kernel's own epilogue has none.
void relu_inplace(float* x, int64_t n);

// out[i] = y[i] > 0 ? g[i] : 0 for i < n, where y is the ReLU's output (so y > 0 exactly where the
// input was > 0; a NaN output passes no gradient, as torch's threshold_backward). out may be g itself.
void relu_backward(const float* g, const float* y, float* out, int64_t n);

// The same over rows x cols (row-major), and db[j] = sum over rows of out[r, j]: the gradient of
// relu(x @ W + b) with respect to its pre-activation and to b. relu == false: out = g (copied unless
// out == g) and only the sums. The sums run in a fixed order whatever the thread count.
void bias_relu_backward(const float* g, const float* y, float* out, float* db, int64_t rows, int64_t cols,
                        bool relu);

}  // namespace forgenet

// 2-D max and average pooling on NHWC tensors: x (N, H, W, C) -> y (N, Ho, Wo, C), geometry in a
// Window2d (k = pool size). Padded positions never take part: a max ignores them and an average
// divides by the number of real elements in its window (as Keras/TensorFlow).
#pragma once
#include <cstdint>

#include "common/window2d.h"

namespace forgenet {

// NaN propagates: a window holding a NaN yields NaN.
void max_pool2d_forward(const Window2d& g, const float* x, float* y);

// dx (overwritten) from dy and x; the window's argmax is recomputed from x. Each output's gradient goes
// to the FIRST maximal element of its window in row-major (kh, kw) order (the first NaN if any), and
// overlapping windows accumulate.
void max_pool2d_backward(const Window2d& g, const float* dy, const float* x, float* dx);

void avg_pool2d_forward(const Window2d& g, const float* x, float* y);
void avg_pool2d_backward(const Window2d& g, const float* dy, float* dx);

}  // namespace forgenet

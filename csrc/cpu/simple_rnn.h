// SimpleRNN over a whole sequence (Keras 3): h_t = act(x_t W + h_{t-1} R + b), row-major, batch first:
// x (N,T,D), h0 (N,U), kernel (D,U), recurrent_kernel (U,U), bias (U,). The activation's derivative is
// taken from its output, so backward needs only the outputs: the reserve (N,T,U) is a copy of y.
#pragma once
#include <cstdint>

namespace forgenet {

enum class RnnActivation : int { linear = 0, tanh = 1, relu = 2, sigmoid = 3 };

// Writes y (N,T,U), h_T (N,U) and, when reserve is not null, reserve (N,T,U). Any N, T, D, U >= 0.
void simple_rnn_forward(const float* x, const float* h0, const float* kernel, const float* recurrent_kernel,
                        const float* bias, RnnActivation act, int64_t N, int64_t T, int64_t D, int64_t U,
                        float* y, float* h_T, float* reserve);

// dy (N,T,U), dh_T (N,U) may be null (zero). Writes dx (N,T,D), dh0 (N,U), dkernel (D,U),
// drecurrent_kernel (U,U), dbias (U,).
void simple_rnn_backward(const float* dy, const float* dh_T, const float* x, const float* h0,
                         const float* kernel, const float* recurrent_kernel, const float* reserve,
                         RnnActivation act, int64_t N, int64_t T, int64_t D, int64_t U, float* dx, float* dh0,
                         float* dkernel, float* drecurrent_kernel, float* dbias);

}  // namespace forgenet

// SimpleRNN forward and backward through time on the GPU, the semantics of the CPU simple_rnn
// (cpu/simple_rnn.h): h_t = act(x_t W + h_{t-1} R + b), act one of linear / tanh / relu / sigmoid
// (0..3, cpu/simple_rnn.h's RnnActivation). The reserve (N,T,U) is a copy of y, as on the CPU.
// Scratch comes from the caller (simple_rnn_*_workspace_floats); a smaller one is cudaErrorInvalidValue.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

int64_t simple_rnn_forward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U);
int64_t simple_rnn_backward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U);

// reserve may be null (inference).
cudaError_t simple_rnn_forward(const float* x, const float* h0, const float* kernel, const float* recurrent_kernel,
                               const float* bias, int act, int64_t N, int64_t T, int64_t D, int64_t U, float* y,
                               float* h_T, float* reserve, float* workspace, int64_t workspace_floats,
                               cudaStream_t stream);

cudaError_t simple_rnn_backward(const float* dy, const float* dh_T, const float* x, const float* h0,
                                const float* kernel, const float* recurrent_kernel, const float* reserve, int act,
                                int64_t N, int64_t T, int64_t D, int64_t U, float* dx, float* dh0, float* dkernel,
                                float* drecurrent_kernel, float* dbias, float* workspace, int64_t workspace_floats,
                                cudaStream_t stream);

}  // namespace forgenet::gpu

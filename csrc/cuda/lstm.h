// LSTM forward and backward through time on the GPU, the semantics of the CPU lstm (cpu/lstm.h): Keras
// layout (gates i, f, c, o; sigmoid / tanh), row-major, batch first: x (N,T,D), h0/c0 (N,U), kernel (D,4U),
// recurrent_kernel (U,4U), bias (4U,). The reserve (N,T,5U) has the CPU layout, [i f c~ o c_t] per
// (sample, step), so either device's backward can consume it.
// Scratch comes from the caller: ask lstm_*_workspace_floats for the size; a smaller workspace is an
// error (cudaErrorInvalidValue). Nothing synchronises.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

int64_t lstm_forward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U);
int64_t lstm_backward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U);

// Writes y (N,T,U), h_T, c_T (N,U) and reserve (N,T,5U). Any N, T, D, U >= 0.
cudaError_t lstm_forward(const float* x, const float* h0, const float* c0, const float* kernel,
                         const float* recurrent_kernel, const float* bias, int64_t N, int64_t T, int64_t D, int64_t U,
                         float* y, float* h_T, float* c_T, float* reserve, float* workspace, int64_t workspace_floats,
                         cudaStream_t stream);

// dy (N,T,U), dh_T, dc_T (N,U) may each be null (zero). Writes dx (N,T,D), dh0, dc0 (N,U), dkernel (D,4U),
// drecurrent_kernel (U,4U), dbias (4U,).
cudaError_t lstm_backward(const float* dy, const float* dh_T, const float* dc_T, const float* x, const float* h0,
                          const float* c0, const float* kernel, const float* recurrent_kernel, const float* reserve,
                          int64_t N, int64_t T, int64_t D, int64_t U, float* dx, float* dh0, float* dc0,
                          float* dkernel, float* drecurrent_kernel, float* dbias, float* workspace,
                          int64_t workspace_floats, cudaStream_t stream);

// The sigmoid and tanh the pointwise kernels use (test hook, as forgenet._C._lstm_activations).
cudaError_t lstm_activations(const float* x, float* sig, float* tnh, int64_t n, cudaStream_t stream);

}  // namespace forgenet::gpu

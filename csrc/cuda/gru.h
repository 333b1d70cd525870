// GRU forward and backward through time on the GPU, the semantics of the CPU gru (cpu/gru.h): Keras 3
// layout (gates z, r, h; sigmoid / tanh), row-major, batch first: x (N,T,D), h0 (N,U), kernel (D,3U),
// recurrent_kernel (U,3U); b_in (3U) and, with reset_after, b_rec (3U) (the rows of Keras's (2, 3U)
// bias). The reserve (N,T,5U) has the CPU layout, [z r hh q h_t] per (sample, step), so either
// device's backward can consume it. Scratch comes from the caller: ask gru_*_workspace_floats for the
// size; a smaller workspace is an error (cudaErrorInvalidValue). Nothing synchronises.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

int64_t gru_forward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U);
int64_t gru_backward_workspace_floats(int64_t N, int64_t T, int64_t D, int64_t U, bool reset_after);

cudaError_t gru_forward(const float* x, const float* h0, const float* kernel, const float* recurrent_kernel,
                        const float* b_in, const float* b_rec, bool reset_after, int64_t N, int64_t T, int64_t D,
                        int64_t U, float* y, float* h_T, float* reserve, float* workspace, int64_t workspace_floats,
                        cudaStream_t stream);

// dy (N,T,U) and dh_T (N,U) may be null (zero). Writes dx, dh0, dkernel, drecurrent_kernel, db_in and (with
// reset_after) db_rec.
cudaError_t gru_backward(const float* dy, const float* dh_T, const float* x, const float* h0, const float* kernel,
                         const float* recurrent_kernel, const float* reserve, bool reset_after, int64_t N, int64_t T,
                         int64_t D, int64_t U, float* dx, float* dh0, float* dkernel, float* drecurrent_kernel,
                         float* db_in, float* db_rec, float* workspace, int64_t workspace_floats, cudaStream_t stream);

}  // namespace forgenet::gpu

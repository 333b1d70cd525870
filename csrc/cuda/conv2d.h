// 2-D convolution over NHWC on the GPU, the semantics of the CPU conv2d: x (N,H,W,Cin),
// kernel (KH,KW,Cin,Cout), optional bias (Cout,), y (N,Ho,Wo,Cout); window rules in cuda/window.h.
// Scratch comes from the caller (the bindings allocate it through CuPy's pool on the same stream):
// ask conv2d_*_workspace_floats for the size; a smaller workspace is an error (cudaErrorInvalidValue).
#pragma once
#include "cuda/api.h"
#include "cuda/window.h"

namespace forgenet::gpu {

int64_t conv2d_forward_workspace_floats(const Window& g, int64_t cout);
// need_dx=false: the workspace for a backward without dx (smaller: no dcols buffer).
int64_t conv2d_backward_workspace_floats(const Window& g, int64_t cout, bool need_dx = true);

cudaError_t conv2d_forward(const Window& g, int64_t cout, const float* x, const float* kernel, const float* bias,
                           float* y, float* workspace, int64_t workspace_floats, cudaStream_t stream);
// Writes dx (N,H,W,Cin), dkernel (KH,KW,Cin,Cout) and dbias (Cout,). dx may be null (a first layer needs
// no input gradient): then neither dcols nor col2im runs, and the workspace may be the need_dx=false size.
// dbias may be null (a convolution without bias): the column sums of dy are then skipped.
cudaError_t conv2d_backward(const Window& g, int64_t cout, const float* dy, const float* x, const float* kernel,
                            float* dx, float* dkernel, float* dbias, float* workspace, int64_t workspace_floats,
                            cudaStream_t stream);

}  // namespace forgenet::gpu

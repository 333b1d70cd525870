// Fused softmax attention on the GPU: the math of csrc/cpu/attention.h (FlashAttention style, O(N d)
// memory), on device pointers, launched on `stream`. Each returns the launch error; nothing synchronises.
//
// Layouts (row-major, contiguous): q (BH, Nq, d), k (BH, Nk, d), v (BH, Nk, dv), o (BH, Nq, dv),
// lse (BH, Nq). causal: query i sees keys j <= i (top-left aligned). With Nk == 0 every row gets
// o = 0, lse = -inf and zero gradients, as on the CPU.
#pragma once
#include "common/shapes.h"
#include "cuda/api.h"

namespace forgenet::gpu {

using forgenet::AttnShape;  // one shape for both devices (common/shapes.h)

// lse may be null when the caller does not need it.
cudaError_t attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                              float* lse, cudaStream_t stream);

// Floats of device scratch attention_backward needs (D = rowsum(dO * O), one per query row).
int64_t attention_backward_workspace_floats(const AttnShape& s);

// do_ and o (BH, Nq, dv), lse (BH, Nq) from the forward; writes dq, dk, dv_ (the gradient of v).
// ws holds attention_backward_workspace_floats(s) floats (cudaErrorInvalidValue if fewer).
cudaError_t attention_backward(const AttnShape& s, const float* do_, const float* q, const float* k,
                               const float* v, const float* o, const float* lse, float* dq, float* dk,
                               float* dv_, float* ws, int64_t ws_floats, cudaStream_t stream);

}  // namespace forgenet::gpu

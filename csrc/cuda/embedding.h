// Embedding lookup and its gradient on the GPU: the math of csrc/cpu/embedding.h on device pointers,
// launched on `stream`; each returns the launch error. Nothing synchronises, so ids are not validated
// here: an id outside [0, vocab) gives a NaN output row and adds nothing to dtable, never a bad access.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

// out (n, dim) = table[ids] with table (vocab, dim).
cudaError_t embedding_forward(const int64_t* ids, int64_t n, const float* table, int64_t vocab, int64_t dim,
                              float* out, cudaStream_t stream);

// dtable (vocab, dim) = sum over k with ids[k] == v of dy[k, :] (zero for unused rows). Float atomicAdd:
// a row with three or more contributions may differ in the last bits from run to run.
cudaError_t embedding_backward(const float* dy, const int64_t* ids, int64_t n, int64_t vocab, int64_t dim,
                               float* dtable, cudaStream_t stream);

}  // namespace forgenet::gpu

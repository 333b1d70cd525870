// Embedding: the forward is a row gather, the backward a scatter-add of dy rows into the table.
// Both are memory-bound grid-stride loops over the n x dim elements, consecutive threads on
// consecutive columns so that reads and writes coalesce.
//
// The backward scatters with float atomicAdd. The CPU kernel is deterministic because each thread
// owns a set of table rows and scans every id, which is O(vocab x n) work for a GPU's many threads;
// a deterministic GPU version needs the ids sorted (or counted) first. Atomics keep it one pass: a row
// hit by at most two ids is still exact and order-free (a + b == b + a), more hits may round
// differently from run to run.
#include "cuda/common.cuh"
#include "cuda/embedding.h"

#include <math.h>

namespace forgenet::gpu {

namespace {

__global__ void __launch_bounds__(kThreads) gather_rows(const int64_t* __restrict__ ids, int64_t n,
                                                        const float* __restrict__ table, int64_t vocab,
                                                        int64_t dim, float* __restrict__ out) {
  const int64_t total = n * dim;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t v = ids[e / dim];
    out[e] = (v >= 0 && v < vocab) ? table[v * dim + e % dim] : NAN;
  }
}

__global__ void __launch_bounds__(kThreads) scatter_add_rows(const float* __restrict__ dy,
                                                             const int64_t* __restrict__ ids, int64_t n,
                                                             int64_t vocab, int64_t dim, float* __restrict__ dtable) {
  const int64_t total = n * dim;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t v = ids[e / dim];
    if (v >= 0 && v < vocab) atomicAdd(dtable + v * dim + e % dim, dy[e]);
  }
}

}  // namespace

cudaError_t embedding_forward(const int64_t* ids, int64_t n, const float* table, int64_t vocab, int64_t dim,
                              float* out, cudaStream_t stream) {
  if (n <= 0 || dim <= 0) return cudaSuccess;
  FORGENET_LAUNCH(gather_rows, blocks_for(n * dim), kThreads, stream, ids, n, table, vocab, dim, out);
  return launch_status();
}

cudaError_t embedding_backward(const float* dy, const int64_t* ids, int64_t n, int64_t vocab, int64_t dim,
                               float* dtable, cudaStream_t stream) {
  if (vocab <= 0 || dim <= 0) return cudaSuccess;
  const cudaError_t err = cudaMemsetAsync(dtable, 0, static_cast<size_t>(vocab * dim) * sizeof(float), stream);
  if (err != cudaSuccess || n <= 0) return err;
  FORGENET_LAUNCH(scatter_add_rows, blocks_for(n * dim), kThreads, stream, dy, ids, n, vocab, dim, dtable);
  return launch_status();
}

}  // namespace forgenet::gpu

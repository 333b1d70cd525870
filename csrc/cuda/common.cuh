// Shared by every .cu file: the CUDA runtime (or, in tests/cuda_emu, a CPU stand-in for it), a launch
// macro, and the block-wide reduction the row kernels use.
//
// Kernels here stay inside a small subset of CUDA so that tests/cuda_emu can also run them on the CPU
// (one fiber per CUDA thread, a barrier for __syncthreads): static __shared__ arrays, no warp
// shuffles, no dynamic shared memory, and float atomicAdd only where an order-free scatter needs it. Sums that CPU kernels do in double are done in
// double here too. Sizes are int64_t throughout; loops over elements are grid-stride loops.
#pragma once

#include <cstdint>

#ifdef FORGENET_CUDA_EMU
#include "cuda_emu.h"
#define FORGENET_LAUNCH(kernel, grid, block, stream, ...) ::emu::launch(kernel, grid, block, __VA_ARGS__)
#else
#include <cuda_runtime.h>
#define FORGENET_LAUNCH(kernel, grid, block, stream, ...) kernel<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__)
#endif

namespace forgenet::gpu {

constexpr int kThreads = 256;  // block size of the elementwise and row kernels (a power of two)

// Blocks for a grid-stride loop over n items; capped, since each thread loops anyway.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

// The error of the launch just made (bad configuration, no device, ...), clearing it.
inline cudaError_t launch_status() { return cudaGetLastError(); }

// Block-wide reduction over kThreads threads through shared memory; every thread gets the result.
// `smem` holds kThreads values and may be reused after the call.
template <typename T, typename Op>
__device__ inline T block_reduce(T v, T* smem, Op op) {
  const int tid = threadIdx.x;
  smem[tid] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (tid < s) smem[tid] = op(smem[tid], smem[tid + s]);
    __syncthreads();
  }
  const T r = smem[0];
  __syncthreads();
  return r;
}

}  // namespace forgenet::gpu

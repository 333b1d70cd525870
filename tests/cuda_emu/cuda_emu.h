// A CPU stand-in for the small subset of CUDA that csrc/cuda uses, so the kernels' logic (indexing,
// tiling, bounds, barriers) can be checked on a machine without a GPU. Each CUDA thread of a block is a
// fiber (ucontext) on one host thread: the block's fibers run in turn, each until it reaches
// __syncthreads or returns, then the next; a round where some threads returned while others wait at a
// barrier is a divergent barrier, reported as an error. Blocks run one after another, so a kernel's
// static __shared__ arrays (plain statics here) belong to one block at a time. Device pointers are host
// pointers. Not emulated, and so not used by the kernels: warp shuffles, dynamic shared memory. atomicAdd
// is emulated trivially (fibers switch only at barriers, so a read-modify-write cannot be interleaved).
#pragma once

#include <math.h>
#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorInvalidConfiguration = 9 };
using cudaStream_t = void*;

namespace emu {

inline dim3 thread_idx, block_idx, block_dim, grid_dim;
inline cudaError_t last_error = cudaSuccess;

struct Fiber {
  ucontext_t ctx;
  void* jb[5];
  bool started = false, done = false;
};

inline void* scheduler_jb[5];
inline std::vector<Fiber>* fibers = nullptr;
inline int current = 0;
inline std::function<void()> body;

[[gnu::noinline]] inline void jump(void** jb) { __builtin_longjmp(jb, 1); }

inline void yield_to_scheduler() {
  if (__builtin_setjmp((*fibers)[current].jb) == 0) jump(scheduler_jb);
}

inline void trampoline() {
  for (;;) {  // the kernel body once per block; parked between blocks and abandoned after the launch
    body();
    (*fibers)[current].done = true;
    yield_to_scheduler();
  }
}

template <typename... P, typename... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, A... args) {
  const long threads = long(block.x) * block.y * block.z;
  if (threads < 1 || threads > 1024 || grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.y > 65535 ||
      grid.z > 65535 || block.z > 64) {
    last_error = cudaErrorInvalidConfiguration;
    return;
  }
  block_dim = block;
  grid_dim = grid;
  static std::vector<std::unique_ptr<char[]>> stacks;  // reused: no zero-filling per launch
  constexpr size_t kStack = 256 * 1024;
  while (long(stacks.size()) < threads) stacks.emplace_back(new char[kStack]);
  std::vector<Fiber> fs(threads);
  for (long i = 0; i < threads; ++i) {
    getcontext(&fs[i].ctx);
    fs[i].ctx.uc_stack.ss_sp = stacks[i].get();
    fs[i].ctx.uc_stack.ss_size = kStack;
    fs[i].ctx.uc_link = nullptr;
    makecontext(&fs[i].ctx, trampoline, 0);
  }
  fibers = &fs;
  body = [&] { kernel(args...); };
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        block_idx = dim3(bx, by, bz);
        for (auto& f : fs) f.done = false;
        for (;;) {  // one round: every live thread runs to its next barrier or to its end
          long finished = 0;
          for (current = 0; current < threads; ++current) {
            Fiber& f = fs[current];
            if (f.done) continue;
            thread_idx = dim3(current % block.x, current / block.x % block.y, current / (block.x * block.y));
            if (__builtin_setjmp(scheduler_jb) == 0) {
              if (!f.started) {
                f.started = true;
                setcontext(&f.ctx);
              }
              jump(f.jb);
            }
          }
          for (auto& f : fs) finished += f.done;
          if (finished == threads) break;
          if (finished > 0) {
            std::fprintf(stderr, "cuda_emu: __syncthreads not reached by every thread of the block\n");
            std::abort();
          }
        }
      }
  fibers = nullptr;
}

}  // namespace emu

#define threadIdx (::emu::thread_idx)
#define blockIdx (::emu::block_idx)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)

inline void __syncthreads() { emu::yield_to_scheduler(); }

inline float atomicAdd(float* p, float v) {
  const float old = *p;
  *p = old + v;
  return old;
}

inline cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::last_error;
  emu::last_error = cudaSuccess;
  return e;
}
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t bytes, cudaStream_t) {
  std::memset(p, v, bytes);
  return cudaSuccess;
}
inline const char* cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaError"; }
inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "error"; }

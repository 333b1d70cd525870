// Pooling: the kernels live in pooling_impl.h, compiled here for any x86-64 (or other CPU) and again
// in pooling_avx2.cpp; the public functions take the AVX2 build when the CPU has it. There is no
// AVX-512 build: compiled with it, the forward passes ran slower than the AVX2 build (0.22 vs 0.12 ms for
// a 2x2 max pool of 32x26x26x32 on one thread), the backward ones no faster.
#include "cpu/pooling.h"

#include "cpu/cpu_features.h"

#define FORGENET_POOL_NS pool_generic
#include "cpu/pooling_impl.h"
#undef FORGENET_POOL_NS

#define FORGENET_POOL_ENTRY_POINTS(ns)                                                      \
  namespace forgenet::ns {                                                                  \
  void max_pool2d_forward(const Window2d& g, const float* x, float* y);                     \
  void max_pool2d_backward(const Window2d& g, const float* dy, const float* x, float* dx);  \
  void avg_pool2d_forward(const Window2d& g, const float* x, float* y);                     \
  void avg_pool2d_backward(const Window2d& g, const float* dy, float* dx);                  \
  }
#if defined(FORGENET_X86)
FORGENET_POOL_ENTRY_POINTS(pool_avx2)
#define FORGENET_POOL_DISPATCH(fn, ...)                                                       \
  if (best_isa() != Isa::generic) return pool_avx2::fn(__VA_ARGS__);                          \
  return pool_generic::fn(__VA_ARGS__);
#else
#define FORGENET_POOL_DISPATCH(fn, ...) return pool_generic::fn(__VA_ARGS__);
#endif

namespace forgenet {

void max_pool2d_forward(const Window2d& g, const float* x, float* y) {
  FORGENET_POOL_DISPATCH(max_pool2d_forward, g, x, y)
}
void max_pool2d_backward(const Window2d& g, const float* dy, const float* x, float* dx) {
  FORGENET_POOL_DISPATCH(max_pool2d_backward, g, dy, x, dx)
}
void avg_pool2d_forward(const Window2d& g, const float* x, float* y) {
  FORGENET_POOL_DISPATCH(avg_pool2d_forward, g, x, y)
}
void avg_pool2d_backward(const Window2d& g, const float* dy, float* dx) {
  FORGENET_POOL_DISPATCH(avg_pool2d_backward, g, dy, dx)
}

}  // namespace forgenet

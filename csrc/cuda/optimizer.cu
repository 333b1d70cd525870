// Fused optimizer updates: one grid-stride elementwise kernel per weight. Memory-bound (20-28 bytes per
// element); consecutive threads on consecutive elements so every access coalesces.
//
// The rounding is the CPU kernel's (and the numpy code's before it) bit for bit: the explicit _rn
// intrinsics keep nvcc from contracting a multiply and an add into an fma, and sqrt and divide are
// IEEE (no --use_fast_math).
#include "cuda/common.cuh"
#include "cuda/optimizer.h"

namespace forgenet::gpu {

namespace {

#ifdef FORGENET_CUDA_EMU  // the emulator's host compiler targets plain x86-64: no fma to contract into
inline float mul_rn(float a, float b) { return a * b; }
inline float add_rn(float a, float b) { return a + b; }
inline float sub_rn(float a, float b) { return a - b; }
inline float div_rn(float a, float b) { return a / b; }
inline float sqrt_rn(float a) { return __builtin_sqrtf(a); }
#else
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float div_rn(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }
#endif

template <bool kAmsgrad>
__global__ void __launch_bounds__(kThreads) adam_kernel(float* __restrict__ var, const float* __restrict__ grad,
                                                        float* __restrict__ m, float* __restrict__ v,
                                                        float* __restrict__ vhat, int64_t n, float alpha, float c1,
                                                        float c2, float eps) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = grad[i], m0 = m[i], v0 = v[i];
    const float mi = add_rn(m0, mul_rn(sub_rn(g, m0), c1));
    float vi = add_rn(v0, mul_rn(sub_rn(mul_rn(g, g), v0), c2));
    m[i] = mi;
    v[i] = vi;
    if (kAmsgrad) {
      const float h = vhat[i];
      vi = (vi > h || vi != vi) ? vi : h;  // NaN in either gives NaN, as numpy.maximum
      vhat[i] = vi;
    }
    var[i] = sub_rn(var[i], div_rn(mul_rn(mi, alpha), add_rn(sqrt_rn(vi), eps)));
  }
}

}  // namespace

cudaError_t adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha,
                        float c1, float c2, float eps, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (vhat)
    FORGENET_LAUNCH(adam_kernel<true>, blocks_for(n), kThreads, stream, var, grad, m, v, vhat, n, alpha, c1, c2, eps);
  else
    FORGENET_LAUNCH(adam_kernel<false>, blocks_for(n), kThreads, stream, var, grad, m, v, vhat, n, alpha, c1, c2, eps);
  return launch_status();
}

}  // namespace forgenet::gpu

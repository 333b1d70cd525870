// Fused optimizer updates: one grid-stride elementwise kernel per weight. Memory-bound (12-28 bytes per
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

// Flags as one int template argument: a comma inside <...> would split the FORGENET_LAUNCH macro's arguments.
constexpr int kMomentum = 1, kNesterov = 2, kCentered = 4;

template <int kFlags>
__global__ void __launch_bounds__(kThreads) sgd_kernel(float* __restrict__ var, const float* __restrict__ grad,
                                                       float* __restrict__ m, int64_t n, float lr, float momentum) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float s = mul_rn(grad[i], lr);
    if (!(kFlags & kMomentum)) {
      var[i] = sub_rn(var[i], s);
    } else {
      const float mi = sub_rn(mul_rn(m[i], momentum), s);
      m[i] = mi;
      var[i] = add_rn(var[i], (kFlags & kNesterov) ? sub_rn(mul_rn(mi, momentum), s) : mi);
    }
  }
}

template <int kFlags>
__global__ void __launch_bounds__(kThreads) rmsprop_kernel(float* __restrict__ var, const float* __restrict__ grad,
                                                           float* __restrict__ v, float* __restrict__ avg,
                                                           float* __restrict__ mom, int64_t n, float lr, float rho,
                                                           float c, float momentum, float eps) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = grad[i];
    const float vi = add_rn(mul_rn(v[i], rho), mul_rn(mul_rn(g, g), c));
    v[i] = vi;
    float den;
    if (kFlags & kCentered) {
      const float ai = add_rn(mul_rn(avg[i], rho), mul_rn(g, c));
      avg[i] = ai;
      den = add_rn(sub_rn(vi, mul_rn(ai, ai)), eps);
    } else {
      den = add_rn(vi, eps);
    }
    const float inc = div_rn(mul_rn(g, lr), sqrt_rn(den));
    if (kFlags & kMomentum) {
      const float mo = add_rn(mul_rn(mom[i], momentum), inc);
      mom[i] = mo;
      var[i] = sub_rn(var[i], mo);
    } else {
      var[i] = sub_rn(var[i], inc);
    }
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

namespace forgenet::gpu {

cudaError_t sgd_update(float* var, const float* grad, float* m, int64_t n, float lr, float momentum, bool nesterov,
                       cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (!m)
    FORGENET_LAUNCH(sgd_kernel<0>, blocks_for(n), kThreads, stream, var, grad, m, n, lr, momentum);
  else if (nesterov)
    FORGENET_LAUNCH(sgd_kernel<kMomentum | kNesterov>, blocks_for(n), kThreads, stream, var, grad, m, n, lr, momentum);
  else
    FORGENET_LAUNCH(sgd_kernel<kMomentum>, blocks_for(n), kThreads, stream, var, grad, m, n, lr, momentum);
  return launch_status();
}

cudaError_t rmsprop_update(float* var, const float* grad, float* v, float* avg, float* mom, int64_t n, float lr,
                           float rho, float c, float momentum, float eps, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  const unsigned grid = blocks_for(n);
  if (avg && mom)
    FORGENET_LAUNCH(rmsprop_kernel<kCentered | kMomentum>, grid, kThreads, stream, var, grad, v, avg, mom, n, lr, rho,
                    c, momentum, eps);
  else if (avg)
    FORGENET_LAUNCH(rmsprop_kernel<kCentered>, grid, kThreads, stream, var, grad, v, avg, mom, n, lr, rho, c,
                    momentum, eps);
  else if (mom)
    FORGENET_LAUNCH(rmsprop_kernel<kMomentum>, grid, kThreads, stream, var, grad, v, avg, mom, n, lr, rho, c,
                    momentum, eps);
  else
    FORGENET_LAUNCH(rmsprop_kernel<0>, grid, kThreads, stream, var, grad, v, avg, mom, n, lr, rho, c,
                    momentum, eps);
  return launch_status();
}

}  // namespace forgenet::gpu

namespace forgenet::gpu {

namespace {

template <int kKind>
__global__ void __launch_bounds__(kThreads) fused_kernel(float* __restrict__ var, const float* __restrict__ grad,
                                                         float* __restrict__ s0, float* __restrict__ s1, int64_t n,
                                                         opt::Consts c) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float w = var[i], a = s0[i], b = s1 ? s1[i] : 0.0f;
    const float g = grad[i];
    if (kKind == opt::kAdagrad) opt::adagrad(w, g, a, b, c);
    if (kKind == opt::kAdadelta) opt::adadelta(w, g, a, b, c);
    if (kKind == opt::kAdamax) opt::adamax(w, g, a, b, c);
    if (kKind == opt::kNadam) opt::nadam(w, g, a, b, c);
    if (kKind == opt::kLion) opt::lion(w, g, a, b, c);
    if (kKind == opt::kFtrl) opt::ftrl(w, g, a, b, c);
    var[i] = w;
    s0[i] = a;
    if (s1) s1[i] = b;
  }
}

}  // namespace

cudaError_t fused_update(int kind, float* var, const float* grad, float* s0, float* s1, int64_t n,
                         const opt::Consts& c, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  const unsigned grid = blocks_for(n);
  switch (kind) {
#define FORGENET_FUSED_CASE(K)                                                                \
  case opt::K:                                                                                \
    FORGENET_LAUNCH(fused_kernel<opt::K>, grid, kThreads, stream, var, grad, s0, s1, n, c); \
    break;
    FORGENET_FUSED_CASE(kAdagrad)
    FORGENET_FUSED_CASE(kAdadelta)
    FORGENET_FUSED_CASE(kAdamax)
    FORGENET_FUSED_CASE(kNadam)
    FORGENET_FUSED_CASE(kLion)
    FORGENET_FUSED_CASE(kFtrl)
#undef FORGENET_FUSED_CASE
    default:
      return cudaErrorInvalidValue;
  }
  return launch_status();
}

}  // namespace forgenet::gpu

// Fused optimizer updates: plain loops (isa/optimizer_kernels.cpp) built for any x86-64 (SSE2) and for
// AVX2, which halves the time of Adam's sqrt and divide; they are compiled without fma contraction,
// which would round differently from the numpy code these replaced.
//
// Each element is a few flops against 12-28 bytes of traffic, so weights below a million elements stay
// on one thread: waking the team on a busy machine cost 8 ms at 300k elements, against 0.1 ms for the
// loop (as in embedding.cpp). Larger ones are cut into chunks, each a separate call of the plain loop
// (an OpenMP region around the loop itself kept it from vectorising well: 4x slower here), so each
// thread makes one call of the plain loop over its contiguous part.
#include "cpu/optimizer.h"

#include "cpu/isa/optimizer_kernels.h"
#include "cpu/parallel.h"

namespace forgenet {

namespace {

// A memory-bound update is worth a second thread from a million elements (the grain is half that),
// far above grain_for()'s rule for compute-bound loops: see above.
constexpr int64_t kGrain = int64_t(1) << 19;

template <typename F>
void run(int64_t n, F&& span) {
  parallel_for(0, n, kGrain, span);
}

}  // namespace

void fused_update(int kind, float* var, const float* grad, float* s0, float* s1, int64_t n, const opt::Consts& c) {
  run(n, [&](int64_t b, int64_t e) { FORGENET_ISA_CALL_UPTO_AVX2(fused_span, kind, b, e, var, grad, s0, s1, c); });
}

void adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha, float c1,
                 float c2, float eps) {
  run(n, [&](int64_t b, int64_t e) {
    FORGENET_ISA_CALL_UPTO_AVX2(adam_span, b, e, var, grad, m, v, vhat, alpha, c1, c2, eps);
  });
}

void sgd_update(float* var, const float* grad, float* m, int64_t n, float lr, float momentum, bool nesterov) {
  run(n, [&](int64_t b, int64_t e) { FORGENET_ISA_CALL_UPTO_AVX2(sgd_span, b, e, var, grad, m, lr, momentum, nesterov); });
}

void rmsprop_update(float* var, const float* grad, float* v, float* avg, float* mom, int64_t n, float lr, float rho,
                    float c, float momentum, float eps) {
  run(n, [&](int64_t b, int64_t e) {
    FORGENET_ISA_CALL_UPTO_AVX2(rmsprop_span, b, e, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
  });
}

}  // namespace forgenet

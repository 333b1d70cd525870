// Fused optimizer updates: plain loops the compiler vectorises (sqrt and divide included, thanks to
// -fno-math-errno), each built twice: for any x86-64 (SSE2) and, entered after the run-time CPU check,
// for AVX2, which halves the time of Adam's sqrt and divide. The AVX2 copies are target("avx2") clones
// rather than an _avx2.cpp file because those are compiled with -mfma, and GCC would then contract the
// multiply-adds into fmas and round differently from the numpy code these replaced.
//
// Each element is a few flops against 12-28 bytes of traffic, so weights below a million elements stay
// on one thread: waking the team on a busy machine cost 8 ms at 300k elements, against 0.1 ms for the
// loop (as in embedding.cpp). Larger ones are cut into chunks, each a separate call of the plain loop
// (an OpenMP region around the loop itself kept it from vectorising well: 4x slower here).
#include "cpu/optimizer.h"

#include <algorithm>

#include "common/optimizer_math.h"
#include "cpu/cpu_features.h"

#define FORGENET_INLINE __attribute__((always_inline)) inline

namespace forgenet {

namespace {

constexpr int64_t kParallelFloats = int64_t(1) << 20;
constexpr int64_t kChunk = int64_t(1) << 15;

// NaN in either argument gives NaN, as numpy.maximum does.
FORGENET_INLINE float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

// Each Body::run(b, e, ...) updates elements [b, e); the pointers are restrict there, so the clones
// below vectorise it without overlap checks.
template <class Body, class... A>
void span_generic(int64_t b, int64_t e, A... a) {
  Body::run(b, e, a...);
}

#ifdef FORGENET_X86
template <class Body, class... A>
__attribute__((target("avx2"))) void span_avx2(int64_t b, int64_t e, A... a) {
  Body::run(b, e, a...);
}
#endif

template <class Body, class... A>
void run(int64_t n, A... a) {
  if (n <= 0) return;
  using Fn = void (*)(int64_t, int64_t, A...);
  Fn f = span_generic<Body, A...>;
#ifdef FORGENET_X86
  static const bool avx2 = best_isa() >= Isa::avx2;
  if (avx2) f = span_avx2<Body, A...>;
#endif
  if (n <= kParallelFloats) return f(0, n, a...);
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) f(c * kChunk, std::min(n, (c + 1) * kChunk), a...);
}

template <bool kAmsgrad>
struct Adam {
  static FORGENET_INLINE void run(int64_t b, int64_t e, float* __restrict var, const float* __restrict grad,
                                  float* __restrict m, float* __restrict v, float* __restrict vhat, float alpha,
                                  float c1, float c2, float eps) {
    for (int64_t i = b; i < e; ++i) {
      const float g = grad[i];
      const float mi = m[i] + (g - m[i]) * c1;
      float vi = v[i] + (g * g - v[i]) * c2;
      m[i] = mi;
      v[i] = vi;
      if constexpr (kAmsgrad) {
        vi = nan_max(vhat[i], vi);
        vhat[i] = vi;
      }
      var[i] -= (mi * alpha) / (__builtin_sqrtf(vi) + eps);
    }
  }
};

template <bool kMomentum, bool kNesterov>
struct Sgd {
  static FORGENET_INLINE void run(int64_t b, int64_t e, float* __restrict var, const float* __restrict grad,
                                  float* __restrict m, float lr, float momentum) {
    for (int64_t i = b; i < e; ++i) {
      const float s = grad[i] * lr;
      if constexpr (!kMomentum) {
        var[i] -= s;
      } else {
        const float mi = m[i] * momentum - s;
        m[i] = mi;
        var[i] += kNesterov ? mi * momentum - s : mi;
      }
    }
  }
};

template <bool kCentered, bool kMomentum>
struct Rmsprop {
  static FORGENET_INLINE void run(int64_t b, int64_t e, float* __restrict var, const float* __restrict grad,
                                  float* __restrict v, float* __restrict avg, float* __restrict mom, float lr,
                                  float rho, float c, float momentum, float eps) {
    for (int64_t i = b; i < e; ++i) {
      const float g = grad[i];
      const float vi = v[i] * rho + (g * g) * c;
      v[i] = vi;
      float den;
      if constexpr (kCentered) {
        const float ai = avg[i] * rho + g * c;
        avg[i] = ai;
        den = (vi - ai * ai) + eps;
      } else {
        den = vi + eps;
      }
      const float inc = (g * lr) / __builtin_sqrtf(den);
      if constexpr (kMomentum) {
        const float mo = mom[i] * momentum + inc;
        mom[i] = mo;
        var[i] -= mo;
      } else {
        var[i] -= inc;
      }
    }
  }
};

// The later optimizers' steps (common/optimizer_math.h), one Body per kind; s1 is unused by one-slot kinds.
template <int kKind>
struct Fused {
  static FORGENET_INLINE void run(int64_t b, int64_t e, float* __restrict var, const float* __restrict grad,
                                  float* __restrict s0, float* __restrict s1, opt::Consts c) {
    float unused = 0.0f;
    for (int64_t i = b; i < e; ++i) {
      float& t1 = s1 ? s1[i] : unused;
      if constexpr (kKind == opt::kAdagrad) opt::adagrad(var[i], grad[i], s0[i], t1, c);
      if constexpr (kKind == opt::kAdadelta) opt::adadelta(var[i], grad[i], s0[i], t1, c);
      if constexpr (kKind == opt::kAdamax) opt::adamax(var[i], grad[i], s0[i], t1, c);
      if constexpr (kKind == opt::kNadam) opt::nadam(var[i], grad[i], s0[i], t1, c);
      if constexpr (kKind == opt::kLion) opt::lion(var[i], grad[i], s0[i], t1, c);
      if constexpr (kKind == opt::kFtrl) opt::ftrl(var[i], grad[i], s0[i], t1, c);
    }
  }
};

}  // namespace

void fused_update(int kind, float* var, const float* grad, float* s0, float* s1, int64_t n, const opt::Consts& c) {
  switch (kind) {
    case opt::kAdagrad: return run<Fused<opt::kAdagrad>>(n, var, grad, s0, s1, c);
    case opt::kAdadelta: return run<Fused<opt::kAdadelta>>(n, var, grad, s0, s1, c);
    case opt::kAdamax: return run<Fused<opt::kAdamax>>(n, var, grad, s0, s1, c);
    case opt::kNadam: return run<Fused<opt::kNadam>>(n, var, grad, s0, s1, c);
    case opt::kLion: return run<Fused<opt::kLion>>(n, var, grad, s0, s1, c);
    case opt::kFtrl: return run<Fused<opt::kFtrl>>(n, var, grad, s0, s1, c);
    default: return;
  }
}

void adam_update(float* var, const float* grad, float* m, float* v, float* vhat, int64_t n, float alpha, float c1,
                 float c2, float eps) {
  if (vhat)
    run<Adam<true>>(n, var, grad, m, v, vhat, alpha, c1, c2, eps);
  else
    run<Adam<false>>(n, var, grad, m, v, vhat, alpha, c1, c2, eps);
}

void sgd_update(float* var, const float* grad, float* m, int64_t n, float lr, float momentum, bool nesterov) {
  if (!m)
    run<Sgd<false, false>>(n, var, grad, m, lr, momentum);
  else if (nesterov)
    run<Sgd<true, true>>(n, var, grad, m, lr, momentum);
  else
    run<Sgd<true, false>>(n, var, grad, m, lr, momentum);
}

void rmsprop_update(float* var, const float* grad, float* v, float* avg, float* mom, int64_t n, float lr, float rho,
                    float c, float momentum, float eps) {
  if (avg && mom)
    run<Rmsprop<true, true>>(n, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
  else if (avg)
    run<Rmsprop<true, false>>(n, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
  else if (mom)
    run<Rmsprop<false, true>>(n, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
  else
    run<Rmsprop<false, false>>(n, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
}

}  // namespace forgenet

// The optimizers' per-ISA loops (generic, avx2; compiled with -ffp-contract=off, see CMakeLists.txt):
// each *_span updates elements [b, e) with a plain loop the compiler vectorises (sqrt and divide
// included, thanks to -fno-math-errno). Threads are optimizer.cpp's.
#include "cpu/isa/optimizer_kernels.h"

#define FORGENET_INLINE __attribute__((always_inline)) inline

namespace forgenet::FORGENET_ISA_NS {

namespace {

// NaN in either argument gives NaN, as numpy.maximum does.
FORGENET_INLINE float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

// Each Body::run(b, e, ...) updates elements [b, e); the pointers are restrict there, so it
// vectorises without overlap checks.
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

void adam_span(int64_t b, int64_t e, float* var, const float* grad, float* m, float* v, float* vhat, float alpha,
               float c1, float c2, float eps) {
  if (vhat)
    Adam<true>::run(b, e, var, grad, m, v, vhat, alpha, c1, c2, eps);
  else
    Adam<false>::run(b, e, var, grad, m, v, vhat, alpha, c1, c2, eps);
}

void sgd_span(int64_t b, int64_t e, float* var, const float* grad, float* m, float lr, float momentum,
              bool nesterov) {
  if (!m)
    Sgd<false, false>::run(b, e, var, grad, m, lr, momentum);
  else if (nesterov)
    Sgd<true, true>::run(b, e, var, grad, m, lr, momentum);
  else
    Sgd<true, false>::run(b, e, var, grad, m, lr, momentum);
}

void rmsprop_span(int64_t b, int64_t e, float* var, const float* grad, float* v, float* avg, float* mom, float lr,
                  float rho, float c, float momentum, float eps) {
  if (avg && mom)
    Rmsprop<true, true>::run(b, e, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
  else if (avg)
    Rmsprop<true, false>::run(b, e, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
  else if (mom)
    Rmsprop<false, true>::run(b, e, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
  else
    Rmsprop<false, false>::run(b, e, var, grad, v, avg, mom, lr, rho, c, momentum, eps);
}

void fused_span(int kind, int64_t b, int64_t e, float* var, const float* grad, float* s0, float* s1,
                const opt::Consts& c) {
  switch (kind) {
    case opt::kAdagrad: return Fused<opt::kAdagrad>::run(b, e, var, grad, s0, s1, c);
    case opt::kAdadelta: return Fused<opt::kAdadelta>::run(b, e, var, grad, s0, s1, c);
    case opt::kAdamax: return Fused<opt::kAdamax>::run(b, e, var, grad, s0, s1, c);
    case opt::kNadam: return Fused<opt::kNadam>::run(b, e, var, grad, s0, s1, c);
    case opt::kLion: return Fused<opt::kLion>::run(b, e, var, grad, s0, s1, c);
    case opt::kFtrl: return Fused<opt::kFtrl>::run(b, e, var, grad, s0, s1, c);
    default: return;
  }
}

}  // namespace forgenet::FORGENET_ISA_NS

// The per-element steps of the optimizers added after Adam/SGD/RMSprop (Adagrad, Adadelta, Adamax,
// Nadam, Lion, Ftrl), one source for both devices: cpu/optimizer.cpp and cuda/optimizer.cu include it.
// Every operation is rounded on its own (explicit _rn intrinsics on the GPU, no fma contraction on the
// CPU), in the order the float32 ufunc code in python/forgenet/optimizers/adaptive.py rounds, so the
// devices and the ufunc fallback agree (to the ulp of powf for Ftrl).
//
// The constants k[] are float32 values the Python wrapper (python/forgenet/kernels/optimizer.py)
// derived once per step; each step's comment lists them.
#pragma once
#include <math.h>

#include <cstdint>

#if defined(__CUDACC__)
#define FORGENET_HD __host__ __device__ __forceinline__
#else
#define FORGENET_HD inline
#endif

namespace forgenet::opt {

enum Kind : int { kAdagrad = 0, kAdadelta = 1, kAdamax = 2, kNadam = 3, kLion = 4, kFtrl = 5 };
constexpr int kNumKinds = 6;
constexpr int kMaxConsts = 9;
// how many slot arrays and constants each kind takes (the bindings check them)
constexpr int kSlots[kNumKinds] = {1, 2, 2, 2, 1, 2};
constexpr int kConsts[kNumKinds] = {2, 4, 5, 9, 5, 5};

struct Consts {
  float k[kMaxConsts];
};

#if defined(__CUDA_ARCH__)
static FORGENET_HD float mul(float a, float b) { return __fmul_rn(a, b); }
static FORGENET_HD float add(float a, float b) { return __fadd_rn(a, b); }
static FORGENET_HD float sub(float a, float b) { return __fsub_rn(a, b); }
static FORGENET_HD float div(float a, float b) { return __fdiv_rn(a, b); }
static FORGENET_HD float sqrt_(float a) { return __fsqrt_rn(a); }
#else
static FORGENET_HD float mul(float a, float b) { return a * b; }
static FORGENET_HD float add(float a, float b) { return a + b; }
static FORGENET_HD float sub(float a, float b) { return a - b; }
static FORGENET_HD float div(float a, float b) { return a / b; }
static FORGENET_HD float sqrt_(float a) { return __builtin_sqrtf(a); }
#endif

// NaN in either argument gives NaN, as numpy.maximum.
static FORGENET_HD float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }
// numpy.sign: -1, 0, 1, NaN for NaN.
static FORGENET_HD float sign(float x) { return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x; }
static FORGENET_HD float clip(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

// Adagrad, k = {lr, eps}: acc += g g;  w -= (g lr) / sqrt(acc + eps).
static FORGENET_HD void adagrad(float& w, float g, float& acc, float&, const Consts& c) {
  const float a = add(acc, mul(g, g));
  acc = a;
  w = sub(w, div(mul(g, c.k[0]), sqrt_(add(a, c.k[1]))));
}

// Adadelta, k = {lr, rho, 1 - rho, eps}: ag = rho ag + (1-rho)(g g);
// d = -((sqrt(adv + eps) g) / sqrt(ag + eps));  adv = rho adv + (1-rho)(d d);  w += lr d.
static FORGENET_HD void adadelta(float& w, float g, float& ag, float& adv, const Consts& c) {
  const float a = add(mul(c.k[1], ag), mul(c.k[2], mul(g, g)));
  const float d = -div(mul(sqrt_(add(adv, c.k[3])), g), sqrt_(add(a, c.k[3])));
  ag = a;
  adv = add(mul(c.k[1], adv), mul(c.k[2], mul(d, d)));
  w = add(w, mul(c.k[0], d));
}

// Adamax, k = {lr, 1 - b1, b2, eps, 1 - b1^t}: m += (g - m)(1-b1);  u = max(b2 u, |g|);
// w -= (lr m) / ((1 - b1^t)(u + eps)).
static FORGENET_HD void adamax(float& w, float g, float& m, float& u, const Consts& c) {
  const float mi = add(m, mul(sub(g, m), c.k[1]));
  const float ui = nan_max(mul(c.k[2], u), fabsf(g));
  m = mi;
  u = ui;
  w = sub(w, div(mul(c.k[0], mi), mul(c.k[4], add(ui, c.k[3]))));
}

// Nadam, k = {lr, 1 - b1, 1 - b2, eps, u_{t+1}, 1 - prod_{t+1}, 1 - u_t, 1 - prod_t, 1 - b2^t}:
// m += (g - m)(1-b1);  v += (g g - v)(1-b2);
// m_hat = (u_{t+1} m)/(1 - prod_{t+1}) + ((1 - u_t) g)/(1 - prod_t);  w -= (m_hat lr)/(sqrt(v/(1-b2^t)) + eps).
static FORGENET_HD void nadam(float& w, float g, float& m, float& v, const Consts& c) {
  const float mi = add(m, mul(sub(g, m), c.k[1]));
  const float vi = add(v, mul(sub(mul(g, g), v), c.k[2]));
  m = mi;
  v = vi;
  const float m_hat = add(div(mul(c.k[4], mi), c.k[5]), div(mul(c.k[6], g), c.k[7]));
  w = sub(w, div(mul(m_hat, c.k[0]), add(sqrt_(div(vi, c.k[8])), c.k[3])));
}

// Lion, k = {lr, b1, 1 - b1, b2, 1 - b2}: w -= lr sign(m b1 + g (1-b1));  m = m b2 + g (1-b2).
static FORGENET_HD void lion(float& w, float g, float& m, float&, const Consts& c) {
  w = sub(w, mul(c.k[0], sign(add(mul(m, c.k[1]), mul(g, c.k[2])))));
  m = add(mul(m, c.k[3]), mul(g, c.k[4]));
}

// Ftrl, k = {lr, p = -learning_rate_power, l1, 2 l2 (l2 includes beta / (2 lr)), 2 l2_shrinkage}:
// g' = g + 2 l2s w;  acc' = acc + g g;  lin += g' - ((acc'^p - acc^p) / lr) w;
// w = (clip(lin, -l1, l1) - lin) / (acc'^p / lr + 2 l2);  acc = acc'.
static FORGENET_HD void ftrl(float& w, float g, float& acc, float& lin, const Consts& c) {
  const float gu = add(g, mul(c.k[4], w));
  const float na = add(acc, mul(g, g));
  const float pn = powf(na, c.k[1]), po = powf(acc, c.k[1]);
  const float li = add(lin, sub(gu, mul(div(sub(pn, po), c.k[0]), w)));
  const float quad = add(div(pn, c.k[0]), c.k[3]);
  lin = li;
  w = div(sub(clip(li, -c.k[2], c.k[2]), li), quad);
  acc = na;
}

}  // namespace forgenet::opt

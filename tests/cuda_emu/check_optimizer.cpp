// Runs csrc/cuda/optimizer.cu under cuda_emu.h against double-precision loops: sizes 0, 1, odd, more
// than a block; Adam with amsgrad on and off and NaN travelling as numpy's maximum lets it; SGD plain,
// with momentum and Nesterov; RMSprop plain, centered, with momentum. Prints "N passed, M failed".

#include "check.h"
#include "cuda/optimizer.h"

using namespace forgenet::gpu;

static void adam_case(int64_t n, bool amsgrad, float alpha, double b1, double b2, float eps) {
  Vec var = randv(n), g = randv(n, -3.0f, 3.0f), m = randv(n), v = randv(n, 0.0f, 2.0f), vhat = randv(n, 0.0f, 2.0f);
  const float c1 = float(1.0 - b1), c2 = float(1.0 - b2);
  DVec wvar(n), wm(n), wv(n), wvhat(n);
  for (int64_t i = 0; i < n; ++i) {
    wm[i] = m[i] + (double(g[i]) - m[i]) * c1;
    wv[i] = v[i] + (double(g[i]) * g[i] - v[i]) * c2;
    const double vv = amsgrad ? std::max<double>(vhat[i], wv[i]) : wv[i];
    wvhat[i] = amsgrad ? vv : vhat[i];
    wvar[i] = var[i] - wm[i] * alpha / (std::sqrt(vv) + eps);
  }
  char name[96];
  std::snprintf(name, sizeof name, "adam n=%ld amsgrad=%d", long(n), int(amsgrad));
  check_ok(name, adam_update(var.data(), g.data(), m.data(), v.data(), amsgrad ? vhat.data() : nullptr, n, alpha, c1,
                             c2, eps, nullptr));
  check(std::string(name) + " var", var, wvar, 1e-5);
  check(std::string(name) + " m", m, wm, 1e-5);
  check(std::string(name) + " v", v, wv, 1e-5);
  check(std::string(name) + " vhat", vhat, wvhat, 1e-5);  // untouched without amsgrad
}

// NaN from either side of the maximum wins, as with numpy.maximum in the ufunc code this replaced.
static void adam_nan_case() {
  Vec var{1, 1, 1}, g{0, 0, NAN}, m{0, 0, 0}, v{NAN, 0, 0}, vhat{0, NAN, 0};
  check_ok("adam NaN", adam_update(var.data(), g.data(), m.data(), v.data(), vhat.data(), 3, 0.1f, 0.1f, 0.001f,
                                   1e-7f, nullptr));
  check("adam NaN vhat", vhat, DVec{NAN, NAN, NAN});
  check("adam NaN var", var, DVec{NAN, NAN, NAN});
}

static void sgd_case(int64_t n, float lr, float momentum, bool use_m, bool nesterov) {
  Vec var = randv(n), g = randv(n, -3.0f, 3.0f), m = randv(n);
  DVec wvar(n), wm(n);
  for (int64_t i = 0; i < n; ++i) {
    const double s = double(g[i]) * lr;
    wm[i] = use_m ? m[i] * double(momentum) - s : m[i];
    wvar[i] = !use_m ? var[i] - s : var[i] + (nesterov ? wm[i] * momentum - s : wm[i]);
  }
  char name[96];
  std::snprintf(name, sizeof name, "sgd n=%ld momentum=%g nesterov=%d", long(n), use_m ? momentum : 0.0f,
                int(nesterov));
  check_ok(name, sgd_update(var.data(), g.data(), use_m ? m.data() : nullptr, n, lr, momentum, nesterov, nullptr));
  check(std::string(name) + " var", var, wvar, 1e-5);
  check(std::string(name) + " m", m, wm, 1e-5);
}

static void rmsprop_case(int64_t n, bool centered, bool use_mom, float lr, double rho, float momentum, float eps) {
  Vec var = randv(n), g = randv(n, -3.0f, 3.0f), v = randv(n, 1.0f, 2.0f), avg = randv(n, -0.1f, 0.1f),
      mom = randv(n);
  const float c = float(1.0 - rho);
  DVec wvar(n), wv(n), wavg(n), wmom(n);
  for (int64_t i = 0; i < n; ++i) {
    wv[i] = v[i] * double(float(rho)) + double(g[i]) * g[i] * c;
    wavg[i] = centered ? avg[i] * double(float(rho)) + double(g[i]) * c : avg[i];
    const double den = centered ? wv[i] - wavg[i] * wavg[i] + eps : wv[i] + eps;
    const double inc = double(g[i]) * lr / std::sqrt(den);
    wmom[i] = use_mom ? mom[i] * double(momentum) + inc : mom[i];
    wvar[i] = var[i] - (use_mom ? wmom[i] : inc);
  }
  char name[96];
  std::snprintf(name, sizeof name, "rmsprop n=%ld centered=%d momentum=%d", long(n), int(centered), int(use_mom));
  check_ok(name, rmsprop_update(var.data(), g.data(), v.data(), centered ? avg.data() : nullptr,
                                use_mom ? mom.data() : nullptr, n, lr, float(rho), c, momentum, eps, nullptr));
  check(std::string(name) + " var", var, wvar, 1e-5);
  check(std::string(name) + " v", v, wv, 1e-5);
  check(std::string(name) + " avg", avg, wavg, 1e-5);
  check(std::string(name) + " mom", mom, wmom, 1e-5);
}

int main() {
  adam_case(0, false, 1e-3f, 0.9, 0.999, 1e-7f);
  adam_case(0, true, 1e-3f, 0.9, 0.999, 1e-7f);
  adam_case(1, false, 1e-3f, 0.9, 0.999, 1e-7f);
  adam_case(1, true, 0.5f, 0.5, 0.5, 1e-3f);
  adam_case(255, false, 1e-2f, 0.8, 0.99, 1e-5f);
  adam_case(257, true, 1e-2f, 0.9, 0.999, 1e-7f);
  adam_case(3001, false, 1e-3f, 0.0, 0.5, 1e-7f);  // several blocks; beta_1 0: m = g
  adam_case(40, true, 1e-3f, 0.9, 0.999, 0.0f);     // eps 0
  adam_case(1027, true, 2e-3f, 0.95, 0.9999, 1e-8f);
  adam_nan_case();
  for (int64_t n : {0, 1, 255, 1027}) {
    sgd_case(n, 0.1f, 0.0f, false, false);
    sgd_case(n, 0.05f, 0.9f, true, false);
    sgd_case(n, 0.05f, 0.8f, true, true);
    rmsprop_case(n, false, false, 1e-3f, 0.9, 0.0f, 1e-7f);
    rmsprop_case(n, true, false, 1e-2f, 0.8, 0.0f, 1e-7f);
    rmsprop_case(n, false, true, 1e-2f, 0.9, 0.5f, 1e-6f);
    rmsprop_case(n, true, true, 1e-2f, 0.9, 0.9f, 1e-7f);
  }
  return report();
}

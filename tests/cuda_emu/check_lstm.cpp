// Runs csrc/cuda/lstm.cu under cuda_emu.h against a double-precision LSTM written as plain loops: forward
// (y, h_T, c_T, the reserve's gates and cell states) and backward through time (all six gradients, with
// each of dy / dh_T / dc_T absent in turn), over batch 1, one step, empty sizes, units that are not a
// multiple of the GEMM tiles, and shapes where the GEMMs split K. Also the activations over their range.
#include <cstring>

#include "check.h"
#include "cuda/gemm.h"
#include "cuda/lstm.h"

using namespace forgenet::gpu;

namespace {

double sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }

struct Ref {
  DVec y, hT, cT, reserve, dx, dh0, dc0, dk, drk, db;
};

// The math of tests/kernels/test_lstm.py's ref_lstm / ref_lstm_backward, in double.
Ref reference(const Vec& x, const Vec& h0, const Vec& c0, const Vec& W, const Vec& R, const Vec& b, const Vec* dy,
              const Vec* dhT, const Vec* dcT, int64_t N, int64_t T, int64_t D, int64_t U) {
  const int64_t G = 4 * U;
  Ref r;
  r.y.assign(N * T * U, 0);
  r.reserve.assign(N * T * 5 * U, 0);
  DVec H(N * (T + 1) * U), C(N * (T + 1) * U);  // h_t, c_t for t = -1 .. T-1 (index t + 1)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t u = 0; u < U; ++u) {
      H[n * (T + 1) * U + u] = h0[n * U + u];
      C[n * (T + 1) * U + u] = c0[n * U + u];
    }
  auto h_at = [&](int64_t n, int64_t t) { return &H[(n * (T + 1) + t + 1) * U]; };
  auto c_at = [&](int64_t n, int64_t t) { return &C[(n * (T + 1) + t + 1) * U]; };
  auto gate = [&](int64_t n, int64_t t, int64_t k) { return &r.reserve[(n * T + t) * 5 * U + k * U]; };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      DVec z(G);
      for (int64_t j = 0; j < G; ++j) {
        double s = b[j];
        for (int64_t k = 0; k < D; ++k) s += double(x[(n * T + t) * D + k]) * W[k * G + j];
        for (int64_t k = 0; k < U; ++k) s += h_at(n, t - 1)[k] * R[k * G + j];
        z[j] = s;
      }
      for (int64_t u = 0; u < U; ++u) {
        const double i = sig(z[u]), f = sig(z[U + u]), g = std::tanh(z[2 * U + u]), o = sig(z[3 * U + u]);
        const double c = f * c_at(n, t - 1)[u] + i * g, h = o * std::tanh(c);
        gate(n, t, 0)[u] = i, gate(n, t, 1)[u] = f, gate(n, t, 2)[u] = g, gate(n, t, 3)[u] = o, gate(n, t, 4)[u] = c;
        c_at(n, t)[u] = c;
        h_at(n, t)[u] = h;
        r.y[(n * T + t) * U + u] = h;
      }
    }
  r.hT.resize(N * U);
  r.cT.resize(N * U);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t u = 0; u < U; ++u) r.hT[n * U + u] = h_at(n, T - 1)[u], r.cT[n * U + u] = c_at(n, T - 1)[u];

  r.dx.assign(N * T * D, 0);
  r.dk.assign(D * G, 0);
  r.drk.assign(U * G, 0);
  r.db.assign(G, 0);
  r.dh0.resize(N * U);
  r.dc0.resize(N * U);
  for (int64_t n = 0; n < N; ++n) {
    DVec dh(U), dc(U), dz(G);
    for (int64_t u = 0; u < U; ++u) dh[u] = dhT ? (*dhT)[n * U + u] : 0.0, dc[u] = dcT ? (*dcT)[n * U + u] : 0.0;
    for (int64_t t = T - 1; t >= 0; --t) {
      for (int64_t u = 0; u < U; ++u) {
        const double i = gate(n, t, 0)[u], f = gate(n, t, 1)[u], g = gate(n, t, 2)[u], o = gate(n, t, 3)[u];
        const double tc = std::tanh(c_at(n, t)[u]), cp = c_at(n, t - 1)[u];
        const double dht = dh[u] + (dy ? (*dy)[(n * T + t) * U + u] : 0.0);
        const double dct = dc[u] + dht * o * (1 - tc * tc);
        dz[u] = dct * g * i * (1 - i);
        dz[U + u] = dct * cp * f * (1 - f);
        dz[2 * U + u] = dct * i * (1 - g * g);
        dz[3 * U + u] = dht * tc * o * (1 - o);
        dc[u] = dct * f;
      }
      for (int64_t k = 0; k < D; ++k)
        for (int64_t j = 0; j < G; ++j) {
          r.dx[(n * T + t) * D + k] += dz[j] * W[k * G + j];
          r.dk[k * G + j] += x[(n * T + t) * D + k] * dz[j];
        }
      for (int64_t k = 0; k < U; ++k) {
        double s = 0;
        for (int64_t j = 0; j < G; ++j) {
          r.drk[k * G + j] += h_at(n, t - 1)[k] * dz[j];
          s += dz[j] * R[k * G + j];
        }
        dh[k] = s;
      }
      for (int64_t j = 0; j < G; ++j) r.db[j] += dz[j];
    }
    for (int64_t u = 0; u < U; ++u) r.dh0[n * U + u] = dh[u], r.dc0[n * U + u] = dc[u];
  }
  return r;
}

// grads: bit 0 dy, bit 1 dh_T, bit 2 dc_T present.
void lstm_case(int64_t N, int64_t T, int64_t D, int64_t U, int grads = 7) {
  const int64_t G = 4 * U;
  const Vec x = randv(N * T * D), h0 = randv(N * U), c0 = randv(N * U), W = randv(D * G, -0.5f, 0.5f),
            R = randv(U * G, -0.5f, 0.5f), b = randv(G), dy = randv(N * T * U), dhT = randv(N * U), dcT = randv(N * U);
  const Vec* pdy = grads & 1 ? &dy : nullptr;
  const Vec* pdh = grads & 2 ? &dhT : nullptr;
  const Vec* pdc = grads & 4 ? &dcT : nullptr;
  const Ref want = reference(x, h0, c0, W, R, b, pdy, pdh, pdc, N, T, D, U);
  char name[120];
  std::snprintf(name, sizeof name, "lstm N=%ld T=%ld D=%ld U=%ld grads=%d", long(N), long(T), long(D), long(U), grads);
  const std::string s = name;

  Vec y(N * T * U, NAN), hT(N * U, NAN), cT(N * U, NAN), reserve(N * T * 5 * U, NAN);
  Vec ws(lstm_forward_workspace_floats(N, T, D, U), NAN);
  check_ok(s + " forward", lstm_forward(x.data(), h0.data(), c0.data(), W.data(), R.data(), b.data(), N, T, D, U,
                                        y.data(), hT.data(), cT.data(), reserve.data(), ws.data(),
                                        int64_t(ws.size()), nullptr));
  check(s + " y", y, want.y);
  check(s + " h_T", hT, T ? want.hT : DVec(h0.begin(), h0.end()));
  check(s + " c_T", cT, T ? want.cT : DVec(c0.begin(), c0.end()));
  check(s + " reserve", reserve, want.reserve);

  Vec dx(N * T * D, NAN), dh0(N * U, NAN), dc0(N * U, NAN), dk(D * G, NAN), drk(U * G, NAN), db(G, NAN);
  Vec bws(lstm_backward_workspace_floats(N, T, D, U), NAN);
  check_ok(s + " backward",
           lstm_backward(pdy ? dy.data() : nullptr, pdh ? dhT.data() : nullptr, pdc ? dcT.data() : nullptr, x.data(),
                         h0.data(), c0.data(), W.data(), R.data(), reserve.data(), N, T, D, U, dx.data(), dh0.data(),
                         dc0.data(), dk.data(), drk.data(), db.data(), bws.data(), int64_t(bws.size()), nullptr));
  check(s + " dx", dx, want.dx);
  check(s + " dh0", dh0, want.dh0);
  check(s + " dc0", dc0, want.dc0);
  check(s + " dkernel", dk, want.dk);
  check(s + " drecurrent_kernel", drk, want.drk);
  check(s + " dbias", db, want.db);

  // Too little scratch is an error, never an overrun.
  if (!bws.empty())
    check(s + " short backward workspace",
          {float(lstm_backward(nullptr, nullptr, nullptr, x.data(), h0.data(), c0.data(), W.data(), R.data(),
                               reserve.data(), N, T, D, U, dx.data(), dh0.data(), dc0.data(), dk.data(), drk.data(),
                               db.data(), bws.data(), int64_t(bws.size()) - 1, nullptr))},
          {double(cudaErrorInvalidValue)});
}

// Relative error against double over the whole float range, and the special values.
void activations_case() {
  Vec x;
  for (int i = -2000; i <= 2000; ++i) x.push_back(i * 0.045f);   // [-90, 90]
  for (float v = 1e-30f; v < 90.0f; v *= 1.7f) x.push_back(v), x.push_back(-v);
  x.push_back(0.0f);
  const size_t n = x.size();
  x.push_back(NAN), x.push_back(INFINITY), x.push_back(-INFINITY);
  Vec s(x.size()), t(x.size());
  check_ok("activations", lstm_activations(x.data(), s.data(), t.data(), int64_t(x.size()), nullptr));
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const double ws = sig(x[i]), wt = std::tanh(double(x[i]));
    if (std::fabs(ws) > 1e-30) worst = std::max(worst, std::fabs(s[i] - ws) / std::fabs(ws));
    if (std::fabs(wt) > 1e-30) worst = std::max(worst, std::fabs(t[i] - wt) / std::fabs(wt));
  }
  if (worst >= 1e-6) {
    std::printf("FAIL activations: max relative error %g\n", worst);
    ++failed;
  } else {
    ++passed;
  }
  const bool specials = std::isnan(s[n]) && std::isnan(t[n]) && s[n + 1] == 1.0f && t[n + 1] == 1.0f &&
                        t[n + 2] == -1.0f && s[n + 2] < 1e-37f;
  if (!specials) {
    std::printf("FAIL activations specials: s %g %g %g t %g %g %g\n", s[n], s[n + 1], s[n + 2], t[n], t[n + 1],
                t[n + 2]);
    ++failed;
  } else {
    ++passed;
  }
}

}  // namespace

int main() {
  activations_case();
  lstm_case(1, 1, 3, 5);
  lstm_case(2, 4, 5, 7, 1);    // dy only
  lstm_case(3, 3, 1, 17, 6);   // final-state grads only
  lstm_case(1, 5, 2, 1, 2);    // one unit, dh_T only
  lstm_case(3, 2, 9, 70);      // 4U = 280: column tiles not full
  lstm_case(2, 3, 0, 4);       // no input features
  lstm_case(2, 3, 2, 0);       // no units: dx is zero
  lstm_case(0, 3, 2, 4);       // empty batch
  lstm_case(2, 0, 3, 4, 6);    // no steps: states pass through
  lstm_case(300, 4, 2, 3, 5);  // N*T = 1200 rows: dkernel / drecurrent_kernel GEMMs split K; dbias in 2 chunks
  lstm_case(1, 2, 3, 256, 3);  // K = 4U = 1024: the per-step dh GEMM splits K
  return report();
}

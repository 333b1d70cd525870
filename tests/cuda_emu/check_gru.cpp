// Runs csrc/cuda/gru.cu and simple_rnn.cu under cuda_emu.h against double-precision recurrences written as
// plain loops: forward (y, h_T, the reserve's h slot) and backward through time (every gradient, with dy /
// dh_T absent in turn), both GRU layouts (reset_after true / false), every SimpleRNN activation, batch 1,
// one step, empty sizes, units off the GEMM tiles, and shapes where the GEMMs split K.
#include <cstring>

#include "check.h"
#include "cuda/gru.h"
#include "cuda/simple_rnn.h"

using namespace forgenet::gpu;

namespace {

double sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }

struct Ref {
  DVec y, hT, dx, dh0, dk, drk, db;
};

// Keras 3's GRU (tests/kernels/test_gru.py's ref_gru), forward and its hand-derived backward, in double.
Ref gru_reference(const Vec& x, const Vec& h0, const Vec& W, const Vec& R, const Vec& b, bool ra, const Vec* dy,
                  const Vec* dhT, int64_t N, int64_t T, int64_t D, int64_t U) {
  const int64_t G = 3 * U;
  Ref r;
  r.y.assign(N * T * U, 0);
  r.dx.assign(N * T * D, 0);
  r.dk.assign(D * G, 0);
  r.drk.assign(U * G, 0);
  r.db.assign(ra ? 2 * G : G, 0);
  r.hT.resize(N * U);
  r.dh0.resize(N * U);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<DVec> H(T + 1, DVec(U)), Z(T, DVec(U)), Rg(T, DVec(U)), HH(T, DVec(U)), RH(T, DVec(U));
    for (int64_t u = 0; u < U; ++u) H[0][u] = h0[n * U + u];
    for (int64_t t = 0; t < T; ++t) {
      DVec xp(G), hr(G);
      for (int64_t j = 0; j < G; ++j) {
        double s = b[j];
        for (int64_t k = 0; k < D; ++k) s += double(x[(n * T + t) * D + k]) * W[k * G + j];
        xp[j] = s;
        double q = ra ? b[G + j] : 0.0;
        if (ra || j < 2 * U)
          for (int64_t k = 0; k < U; ++k) q += H[t][k] * R[k * G + j];
        hr[j] = q;
      }
      for (int64_t u = 0; u < U; ++u) {
        Z[t][u] = sig(xp[u] + hr[u]);
        Rg[t][u] = sig(xp[U + u] + hr[U + u]);
      }
      for (int64_t u = 0; u < U; ++u) {
        double rec;
        if (ra) {
          RH[t][u] = hr[2 * U + u];
          rec = Rg[t][u] * RH[t][u];
        } else {
          rec = 0;
          for (int64_t k = 0; k < U; ++k) rec += Rg[t][k] * H[t][k] * R[k * G + 2 * U + u];
        }
        HH[t][u] = std::tanh(xp[2 * U + u] + rec);
        H[t + 1][u] = Z[t][u] * H[t][u] + (1 - Z[t][u]) * HH[t][u];
        r.y[(n * T + t) * U + u] = H[t + 1][u];
      }
    }
    for (int64_t u = 0; u < U; ++u) r.hT[n * U + u] = H[T][u];
    DVec dh(U);
    for (int64_t u = 0; u < U; ++u) dh[u] = dhT ? (*dhT)[n * U + u] : 0.0;
    for (int64_t t = T - 1; t >= 0; --t) {
      DVec dzx(G), dzr(G), dhp(U);
      for (int64_t u = 0; u < U; ++u) {
        const double dht = dh[u] + (dy ? (*dy)[(n * T + t) * U + u] : 0.0);
        const double z = Z[t][u], hh = HH[t][u];
        dzx[u] = dzr[u] = dht * (H[t][u] - hh) * z * (1 - z);
        dzx[2 * U + u] = dht * (1 - z) * (1 - hh * hh);
        dhp[u] = dht * z;
      }
      if (ra) {
        for (int64_t u = 0; u < U; ++u) {
          const double rg = Rg[t][u];
          dzx[U + u] = dzr[U + u] = dzx[2 * U + u] * RH[t][u] * rg * (1 - rg);
          dzr[2 * U + u] = dzx[2 * U + u] * rg;
        }
        for (int64_t k = 0; k < U; ++k)
          for (int64_t j = 0; j < G; ++j) {
            dhp[k] += dzr[j] * R[k * G + j];
            r.drk[k * G + j] += H[t][k] * dzr[j];
          }
        for (int64_t j = 0; j < G; ++j) r.db[G + j] += dzr[j];
      } else {
        DVec dq(U, 0.0);
        for (int64_t k = 0; k < U; ++k)
          for (int64_t j = 0; j < U; ++j) {
            dq[k] += dzx[2 * U + j] * R[k * G + 2 * U + j];
            r.drk[k * G + 2 * U + j] += Rg[t][k] * H[t][k] * dzx[2 * U + j];
          }
        for (int64_t u = 0; u < U; ++u) {
          const double rg = Rg[t][u];
          dzx[U + u] = dq[u] * H[t][u] * rg * (1 - rg);
          dhp[u] += dq[u] * rg;
        }
        for (int64_t k = 0; k < U; ++k)
          for (int64_t j = 0; j < 2 * U; ++j) {
            dhp[k] += dzx[j] * R[k * G + j];
            r.drk[k * G + j] += H[t][k] * dzx[j];
          }
      }
      for (int64_t k = 0; k < D; ++k)
        for (int64_t j = 0; j < G; ++j) {
          r.dx[(n * T + t) * D + k] += dzx[j] * W[k * G + j];
          r.dk[k * G + j] += x[(n * T + t) * D + k] * dzx[j];
        }
      for (int64_t j = 0; j < G; ++j) r.db[j] += dzx[j];
      dh = dhp;
    }
    for (int64_t u = 0; u < U; ++u) r.dh0[n * U + u] = dh[u];
  }
  return r;
}

// grads: bit 0 dy, bit 1 dh_T present.
void gru_case(int64_t N, int64_t T, int64_t D, int64_t U, bool ra, int grads = 3) {
  const int64_t G = 3 * U, B = ra ? 2 * G : G;
  const Vec x = randv(N * T * D), h0 = randv(N * U), W = randv(D * G, -0.5f, 0.5f), R = randv(U * G, -0.5f, 0.5f),
            b = randv(B), dy = randv(N * T * U), dhT = randv(N * U);
  const Vec* pdy = grads & 1 ? &dy : nullptr;
  const Vec* pdh = grads & 2 ? &dhT : nullptr;
  const Ref want = gru_reference(x, h0, W, R, b, ra, pdy, pdh, N, T, D, U);
  char name[120];
  std::snprintf(name, sizeof name, "gru N=%ld T=%ld D=%ld U=%ld reset_after=%d grads=%d", long(N), long(T), long(D),
                long(U), int(ra), grads);
  const std::string s = name;
  Vec y(N * T * U, NAN), hT(N * U, NAN), reserve(N * T * 5 * U, NAN);
  Vec ws(gru_forward_workspace_floats(N, T, D, U), NAN);
  check_ok(s + " forward", gru_forward(x.data(), h0.data(), W.data(), R.data(), b.data(), ra ? b.data() + G : nullptr,
                                       ra, N, T, D, U, y.data(), hT.data(), reserve.data(), ws.data(),
                                       int64_t(ws.size()), nullptr));
  check(s + " y", y, want.y);
  check(s + " h_T", hT, T ? want.hT : DVec(h0.begin(), h0.end()));
  Vec dx(N * T * D, NAN), dh0(N * U, NAN), dk(D * G, NAN), drk(U * G, NAN), db(B, NAN);
  Vec bws(gru_backward_workspace_floats(N, T, D, U, ra), NAN);
  check_ok(s + " backward", gru_backward(pdy ? dy.data() : nullptr, pdh ? dhT.data() : nullptr, x.data(), h0.data(),
                                         W.data(), R.data(), reserve.data(), ra, N, T, D, U, dx.data(), dh0.data(),
                                         dk.data(), drk.data(), db.data(), ra ? db.data() + G : nullptr, bws.data(),
                                         int64_t(bws.size()), nullptr));
  check(s + " dx", dx, want.dx);
  if (N * U > 0) check(s + " dh0", dh0, T ? want.dh0 : (pdh ? DVec(dhT.begin(), dhT.end()) : DVec(N * U, 0.0)));
  check(s + " dkernel", dk, want.dk);
  check(s + " drecurrent_kernel", drk, want.drk);
  check(s + " dbias", db, want.db);
  if (!bws.empty())
    check(s + " short backward workspace",
          {float(gru_backward(nullptr, nullptr, x.data(), h0.data(), W.data(), R.data(), reserve.data(), ra, N, T, D, U,
                              dx.data(), dh0.data(), dk.data(), drk.data(), db.data(), ra ? db.data() + G : nullptr,
                              bws.data(), int64_t(bws.size()) - 1, nullptr))},
          {double(cudaErrorInvalidValue)});
}

double act_d(int a, double v) {
  switch (a) {
    case 1: return std::tanh(v);
    case 2: return v > 0 ? v : 0;
    case 3: return sig(v);
    default: return v;
  }
}

double slope_d(int a, double h) {
  switch (a) {
    case 1: return 1 - h * h;
    case 2: return h > 0 ? 1 : 0;
    case 3: return h * (1 - h);
    default: return 1;
  }
}

void rnn_case(int64_t N, int64_t T, int64_t D, int64_t U, int a) {
  const Vec x = randv(N * T * D), h0 = randv(N * U), W = randv(D * U, -0.5f, 0.5f), R = randv(U * U, -0.5f, 0.5f),
            b = randv(U), dy = randv(N * T * U), dhT = randv(N * U);
  DVec y(N * T * U), hT(N * U), dx(N * T * D, 0), dh0(N * U), dk(D * U, 0), drk(U * U, 0), db(U, 0);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<DVec> H(T + 1, DVec(U));
    for (int64_t u = 0; u < U; ++u) H[0][u] = h0[n * U + u];
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < U; ++j) {
        double s = b[j];
        for (int64_t k = 0; k < D; ++k) s += double(x[(n * T + t) * D + k]) * W[k * U + j];
        for (int64_t k = 0; k < U; ++k) s += H[t][k] * R[k * U + j];
        H[t + 1][j] = act_d(a, s);
        y[(n * T + t) * U + j] = H[t + 1][j];
      }
    DVec dh(U);
    for (int64_t u = 0; u < U; ++u) dh[u] = dhT[n * U + u], hT[n * U + u] = H[T][u];
    for (int64_t t = T - 1; t >= 0; --t) {
      DVec dz(U), nd(U, 0.0);
      for (int64_t u = 0; u < U; ++u) dz[u] = (dh[u] + dy[(n * T + t) * U + u]) * slope_d(a, H[t + 1][u]);
      for (int64_t k = 0; k < U; ++k)
        for (int64_t j = 0; j < U; ++j) nd[k] += dz[j] * R[k * U + j], drk[k * U + j] += H[t][k] * dz[j];
      for (int64_t k = 0; k < D; ++k)
        for (int64_t j = 0; j < U; ++j)
          dx[(n * T + t) * D + k] += dz[j] * W[k * U + j], dk[k * U + j] += x[(n * T + t) * D + k] * dz[j];
      for (int64_t j = 0; j < U; ++j) db[j] += dz[j];
      dh = nd;
    }
    for (int64_t u = 0; u < U; ++u) dh0[n * U + u] = dh[u];
  }
  char name[120];
  std::snprintf(name, sizeof name, "simple_rnn N=%ld T=%ld D=%ld U=%ld act=%d", long(N), long(T), long(D), long(U), a);
  const std::string s = name;
  Vec gy(N * T * U, NAN), ghT(N * U, NAN), reserve(N * T * U, NAN);
  Vec ws(simple_rnn_forward_workspace_floats(N, T, D, U), NAN);
  check_ok(s + " forward", simple_rnn_forward(x.data(), h0.data(), W.data(), R.data(), b.data(), a, N, T, D, U,
                                              gy.data(), ghT.data(), reserve.data(), ws.data(), int64_t(ws.size()),
                                              nullptr));
  check(s + " y", gy, y);
  check(s + " h_T", ghT, T ? hT : DVec(h0.begin(), h0.end()));
  check(s + " reserve", reserve, y);
  Vec gdx(N * T * D, NAN), gdh0(N * U, NAN), gdk(D * U, NAN), gdrk(U * U, NAN), gdb(U, NAN);
  Vec bws(simple_rnn_backward_workspace_floats(N, T, D, U), NAN);
  check_ok(s + " backward", simple_rnn_backward(dy.data(), dhT.data(), x.data(), h0.data(), W.data(), R.data(),
                                                reserve.data(), a, N, T, D, U, gdx.data(), gdh0.data(), gdk.data(),
                                                gdrk.data(), gdb.data(), bws.data(), int64_t(bws.size()), nullptr));
  check(s + " dx", gdx, dx);
  check(s + " dh0", gdh0, T ? dh0 : DVec(dhT.begin(), dhT.end()));
  check(s + " dkernel", gdk, dk);
  check(s + " drecurrent_kernel", gdrk, drk);
  check(s + " dbias", gdb, db);
}

}  // namespace

int main() {
  for (bool ra : {true, false}) {
    gru_case(1, 1, 3, 5, ra);
    gru_case(2, 4, 5, 7, ra, 1);    // dy only
    gru_case(3, 3, 1, 17, ra, 2);   // final-state grad only
    gru_case(1, 5, 2, 1, ra);       // one unit
    gru_case(3, 2, 9, 70, ra);      // 3U = 210: column tiles not full
    gru_case(2, 3, 0, 4, ra);       // no input features
    gru_case(2, 3, 2, 0, ra);       // no units
    gru_case(0, 3, 2, 4, ra);       // empty batch
    gru_case(2, 0, 3, 4, ra, 2);    // no steps: the state passes through
    gru_case(300, 4, 2, 3, ra, 1);  // N*T = 1200 rows: weight GEMMs split K; dbias in 2 chunks
    gru_case(1, 2, 3, 256, ra, 3);  // K = 3U = 768: the per-step dh GEMM splits K
  }
  for (int a = 0; a < 4; ++a) {
    rnn_case(2, 4, 3, 5, a);
    rnn_case(3, 1, 7, 33, a);
  }
  rnn_case(300, 4, 2, 3, 1);
  rnn_case(2, 0, 3, 4, 1);
  return report();
}

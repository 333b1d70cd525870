// csrc/cuda/attention.cu under cuda_emu.h against double loops over the full score matrix: forward
// (o, lse) and backward (dq, dk, dv) for sequence lengths that are not multiples of the tiles, N = 1,
// Nq != Nk both ways, causal and not, every head-dim width class (32, 64, 128, split past 128), dv != d,
// negative and zero scales, no keys, no queries and dv = 0.
#include "check.h"
#include "cuda/attention.h"

using namespace forgenet::gpu;

struct Ref {
  DVec o, lse, dq, dk, dv;
};

static Ref reference(const AttnShape& s, const Vec& q, const Vec& k, const Vec& v, const Vec& dout) {
  const int64_t nq = s.nq, nk = s.nk, d = s.d, dv = s.dv;
  Ref r{DVec(s.bh * nq * dv, 0.0), DVec(s.bh * nq, -INFINITY), DVec(s.bh * nq * d, 0.0), DVec(s.bh * nk * d, 0.0),
        DVec(s.bh * nk * dv, 0.0)};
  DVec p(nk), dp(nk);
  for (int64_t h = 0; h < s.bh; ++h)
    for (int64_t i = 0; i < nq; ++i) {
      const float* qi = &q[(h * nq + i) * d];
      double m = -INFINITY;
      for (int64_t j = 0; j < nk; ++j) {
        double x = 0;
        for (int64_t c = 0; c < d; ++c) x += double(qi[c]) * k[(h * nk + j) * d + c];
        p[j] = (s.causal && j > i) ? -INFINITY : x * s.scale;
        m = std::max(m, p[j]);
      }
      if (nk == 0) continue;
      double l = 0;
      for (int64_t j = 0; j < nk; ++j) l += (p[j] = std::exp(p[j] - m));
      for (int64_t j = 0; j < nk; ++j) p[j] /= l;
      r.lse[h * nq + i] = m + std::log(l);
      double D = 0;
      for (int64_t c = 0; c < dv; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < nk; ++j) acc += p[j] * v[(h * nk + j) * dv + c];
        r.o[(h * nq + i) * dv + c] = acc;
        D += acc * dout[(h * nq + i) * dv + c];
      }
      for (int64_t j = 0; j < nk; ++j) {
        double x = 0;
        for (int64_t c = 0; c < dv; ++c) x += double(dout[(h * nq + i) * dv + c]) * v[(h * nk + j) * dv + c];
        dp[j] = s.scale * p[j] * (x - D);
        for (int64_t c = 0; c < dv; ++c) r.dv[(h * nk + j) * dv + c] += p[j] * dout[(h * nq + i) * dv + c];
        for (int64_t c = 0; c < d; ++c) {
          r.dq[(h * nq + i) * d + c] += dp[j] * k[(h * nk + j) * d + c];
          r.dk[(h * nk + j) * d + c] += dp[j] * qi[c];
        }
      }
    }
  return r;
}

static void attention_case(int64_t bh, int64_t nq, int64_t nk, int64_t d, int64_t dv, bool causal, float scale = 0.0f,
                           bool default_scale = true) {
  const AttnShape s{bh, nq, nk, d, dv, default_scale ? float(1.0 / std::sqrt(double(d))) : scale, causal};
  const Vec q = randv(bh * nq * d, -2, 2), k = randv(bh * nk * d, -2, 2), v = randv(bh * nk * dv),
            dout = randv(bh * nq * dv);
  const Ref want = reference(s, q, k, v, dout);
  char name[160];
  std::snprintf(name, sizeof name, "attention bh=%ld nq=%ld nk=%ld d=%ld dv=%ld causal=%d scale=%g", long(bh), long(nq),
                long(nk), long(d), long(dv), causal, s.scale);
  const std::string n = name;
  Vec o(want.o.size(), NAN), lse(want.lse.size(), NAN);
  check_ok(n + " forward", attention_forward(s, q.data(), k.data(), v.data(), o.data(), lse.data(), nullptr));
  check(n + " o", o, want.o);
  // -inf (no keys) must come out as -inf: compare through a finite stand-in
  Vec lse_f(lse);
  DVec lse_w(want.lse);
  for (auto& x : lse_f) x = std::isinf(x) && x < 0 ? -1e6f : x;
  for (auto& x : lse_w) x = std::isinf(x) && x < 0 ? -1e6 : x;
  check(n + " lse", lse_f, lse_w, 1e-5);

  Vec ws(attention_backward_workspace_floats(s), NAN);
  Vec dq(want.dq.size(), NAN), dk(want.dk.size(), NAN), dvv(want.dv.size(), NAN);
  check_ok(n + " backward",
           attention_backward(s, dout.data(), q.data(), k.data(), v.data(), o.data(), lse.data(), dq.data(), dk.data(),
                              dvv.data(), ws.data(), int64_t(ws.size()), nullptr));
  check(n + " dq", dq, want.dq, 2e-4);
  check(n + " dk", dk, want.dk, 2e-4);
  check(n + " dv", dvv, want.dv, 2e-4);
}

int main() {
  for (bool causal : {false, true}) {
    attention_case(1, 1, 1, 8, 8, causal);          // N = 1
    attention_case(2, 70, 70, 16, 16, causal);      // across a 64 tile, batch of heads
    attention_case(1, 65, 130, 64, 64, causal);     // d = 64 path, Nq < Nk
    attention_case(1, 100, 30, 32, 32, causal);     // Nq > Nk: late rows see every key
    attention_case(1, 33, 47, 5, 7, causal);        // tiny odd d != dv
    attention_case(1, 40, 50, 128, 128, causal);    // d = 128 path (32-row tiles)
    attention_case(1, 20, 30, 100, 130, causal);    // dv split over two 128-wide blocks, d in 4 chunks
    attention_case(1, 50, 60, 64, 32, causal);      // d and dv in different width classes
    attention_case(1, 3, 70, 200, 16, causal);      // d split in the backward (dK over two blocks)
  }
  attention_case(1, 40, 70, 16, 16, true, -0.3f, false);  // negative scale: masking after the exp
  attention_case(1, 40, 70, 16, 16, false, 0.0f, false);  // zero scale: uniform weights
  attention_case(2, 5, 0, 8, 8, true);                    // no keys: o = 0, lse = -inf, dq = 0
  attention_case(1, 0, 5, 8, 8, false);                   // no queries: dk = dv = 0
  attention_case(1, 10, 12, 8, 0, true);                  // dv = 0: lse and dq only
  // the launch error comes back: a workspace that is too small
  {
    const AttnShape s{1, 4, 4, 8, 8, 0.5f, false};
    Vec a(32, 0.0f), l(4, 0.0f), g(32);
    const cudaError_t e = attention_backward(s, a.data(), a.data(), a.data(), a.data(), a.data(), l.data(), g.data(),
                                             g.data(), g.data(), nullptr, 0, nullptr);
    if (e == cudaSuccess) {
      std::printf("FAIL attention_backward accepted a missing workspace\n");
      ++failed;
    } else {
      ++passed;
    }
  }
  return report();
}

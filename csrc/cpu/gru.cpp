// GRU forward and backward through time, as lstm.cpp does the LSTM: the input projection of every
// step is one GEMM up front (straight into the reserve), the time loop then does per step the
// recurrent GEMM and one fused pointwise pass, and backward mirrors it with the weight gradients as
// big GEMMs after the loop. reset_after = false needs r before its h-gate product, so there a step is
// two GEMMs, each followed by a pass. h_{t-1} is read straight out of the reserve (or h0).
//
// The loop splits by samples over threads (rnn_loop.h); a small batch runs on one thread.
#include "cpu/gru.h"

#include <algorithm>
#include <cstring>

#include "cpu/gemm.h"
#include "cpu/gru_pointwise.h"
#include "cpu/rnn_loop.h"

namespace forgenet {

namespace {

const GruPasses& passes() { return *FORGENET_ISA_PICK(gru_passes); }

constexpr int64_t kRS = kGruReserveGates;

}  // namespace

void gru_forward(const float* x, const float* h0, const float* W, const float* R, const float* b_in,
                 const float* b_rec, bool reset_after, int64_t N, int64_t T, int64_t D, int64_t U, float* y,
                 float* h_T, float* reserve) {
  const int64_t G = 3 * U, RS = kRS * U;
  const GruPasses& ps = passes();
  if (N * T > 0 && U > 0) sgemm(false, false, N * T, G, D, 1.0f, x, D, W, G, 0.0f, reserve, RS);
  Scratch s(Scratch::floats(N * G), "gru's recurrent products");
  float* zr = s.take(N * G);  // the recurrent product of one step
  rnn::for_row_blocks(N, U, 3, [&](int64_t n0, int64_t n1) {
    const int64_t m = n1 - n0;
    for (int64_t t = 0; t < T && U > 0; ++t) {
      float* r = reserve + (n0 * T + t) * RS;
      const float* hp = t ? r - RS + 4 * U : h0 + n0 * U;
      const int64_t ldhp = t ? T * RS : U;
      float* z = zr + n0 * G;
      GruFwdRows a{r, T * RS, z, G, b_in, b_rec, hp, ldhp, y + (n0 * T + t) * U, T * U};
      if (reset_after) {
        sgemm(false, false, m, G, U, 1.0f, hp, ldhp, R, G, 0.0f, z, G);
        ps.fwd_after(a, m, U);
      } else {
        sgemm(false, false, m, 2 * U, U, 1.0f, hp, ldhp, R, G, 0.0f, z, G);
        ps.fwd_before_a(a, m, U);
        sgemm(false, false, m, U, U, 1.0f, r + 3 * U, T * RS, R + 2 * U, G, 0.0f, z, G);
        ps.fwd_before_b(a, m, U);
      }
    }
  });
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(h_T + n * U, T ? reserve + (n * T + T - 1) * RS + 4 * U : h0 + n * U, U * sizeof(float));
}

void gru_backward(const float* dy, const float* dh_T, const float* x, const float* h0, const float* W,
                  const float* R, const float* reserve, bool reset_after, int64_t N, int64_t T, int64_t D,
                  int64_t U, float* dx, float* dh0, float* dk, float* drk, float* db_in, float* db_rec) {
  const int64_t G = 3 * U, RS = kRS * U, M = N * T;
  const GruPasses& ps = passes();
  // dh0 doubles as the running gradient reaching h_t.
  if (dh_T) std::memcpy(dh0, dh_T, N * U * sizeof(float)); else std::fill(dh0, dh0 + N * U, 0.0f);
  const int64_t second = reset_after ? M * G : N * U;
  Scratch s(Scratch::floats(M * G) + Scratch::floats(second) + Scratch::floats(G * U) + Scratch::floats(M * U),
            "gru_backward's gradients and states");
  float* dzx = s.take(M * G);                                // gradients of x_t W + b_in, (N, T, 3U)
  float* dzr = reset_after ? s.take(second) : nullptr;       // of h_{t-1} R + b_rec, (N, T, 3U)
  float* dq = reset_after ? nullptr : s.take(second);        // reaching q = r * h_{t-1}, one step
  float* rt = s.take(G * U);                                 // R^T (3U, U)
  float* hp = s.take(M * U);                                 // h_{t-1} of every step, (N, T, U)
  rnn::transpose(R, U, G, rt);
  rnn::for_row_blocks(N, U, 3, [&](int64_t n0, int64_t n1) {
    const int64_t m = n1 - n0, o = n0 * T;
    float* dh = dh0 + n0 * U;
    for (int64_t t = T - 1; t >= 0 && U > 0; --t) {
      const float* r = reserve + (o + t) * RS;
      GruBwdRows a{r, T * RS, t ? r - RS + 4 * U : h0 + n0 * U, t ? T * RS : U,
                   dy ? dy + (o + t) * U : nullptr, T * U, dh, dzx + (o + t) * G, T * G,
                   reset_after ? dzr + (o + t) * G : nullptr, T * G,
                   reset_after ? nullptr : dq + n0 * U};
      if (reset_after) {
        ps.bwd_after(a, m, U);
        sgemm(false, false, m, U, G, 1.0f, a.dzr, T * G, rt, U, 1.0f, dh, U);
      } else {
        ps.bwd_before_a(a, m, U);
        float* q = dq + n0 * U;
        sgemm(false, false, m, U, U, 1.0f, a.dzx + 2 * U, T * G, rt + 2 * U * U, U, 0.0f, q, U);
        ps.bwd_before_b(a, m, U);
        sgemm(false, false, m, U, 2 * U, 1.0f, a.dzx, T * G, rt, U, 1.0f, dh, U);
      }
    }
  });
  if (M == 0 || U == 0)  // no steps (or no units): the weights got no gradient
    return rnn::zero_all({{dk, D * G}, {drk, U * G}, {db_in, G}, {reset_after ? db_rec : nullptr, G}, {dx, M * D}});
  // h_{t-1} of every step, the left operand of drecurrent_kernel.
  for (int64_t n = 0; n < N; ++n) {
    std::memcpy(hp + n * T * U, h0 + n * U, U * sizeof(float));
    for (int64_t t = 1; t < T; ++t)
      std::memcpy(hp + (n * T + t) * U, reserve + (n * T + t - 1) * RS + 4 * U, U * sizeof(float));
  }
  sgemm(true, false, D, G, M, 1.0f, x, D, dzx, G, 0.0f, dk, G);
  sgemm(false, true, M, D, G, 1.0f, dzx, G, W, G, 0.0f, dx, D);
  rnn::column_sums(dzx, M, G, G, db_in);
  if (reset_after) {
    sgemm(true, false, U, G, M, 1.0f, hp, U, dzr, G, 0.0f, drk, G);
    rnn::column_sums(dzr, M, G, G, db_rec);
  } else {
    sgemm(true, false, U, 2 * U, M, 1.0f, hp, U, dzx, G, 0.0f, drk, G);
    sgemm(true, false, U, U, M, 1.0f, reserve + 3 * U, RS, dzx + 2 * U, G, 0.0f, drk + 2 * U, G);
  }
}

}  // namespace forgenet

// GRU forward and backward through time, as lstm.cpp does the LSTM: the input projection of every
// step is one GEMM up front (straight into the reserve), the time loop then does per step the
// recurrent GEMM and one fused pointwise pass, and backward mirrors it with the weight gradients as
// big GEMMs after the loop. reset_after = false needs r before its h-gate product, so there a step is
// two GEMMs, each followed by a pass. h_{t-1} is read straight out of the reserve (or h0).
//
// The loop splits by samples over threads (rnn_loop.h); a small batch runs on one thread.
#include "cpu/gru.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/gru_pointwise.h"
#include "cpu/rnn_loop.h"

namespace forgenet {

const GruPasses gru_passes_generic = gru_passes_here;
#ifndef FORGENET_X86  // the SIMD files are not compiled off x86; best_isa() is then always generic
const GruPasses gru_passes_avx2 = gru_passes_here;
const GruPasses gru_passes_avx512 = gru_passes_here;
#endif

namespace {

const GruPasses& passes() {
  switch (best_isa()) {
    case Isa::avx512: return gru_passes_avx512;
    case Isa::avx2: return gru_passes_avx2;
    default: return gru_passes_generic;
  }
}

constexpr int64_t kRS = kGruReserveGates;

}  // namespace

void gru_forward(const float* x, const float* h0, const float* W, const float* R, const float* b_in,
                 const float* b_rec, bool reset_after, int64_t N, int64_t T, int64_t D, int64_t U, float* y,
                 float* h_T, float* reserve) {
  const int64_t G = 3 * U, RS = kRS * U;
  const GruPasses& ps = passes();
  if (N * T > 0 && U > 0) sgemm(false, false, N * T, G, D, 1.0f, x, D, W, G, 0.0f, reserve, RS);
  float* zr = rnn::scratch(0, N * G);  // the recurrent product of one step
  const int nt = rnn::row_threads(N, U, 3);
  rnn::SerialGemm serial;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t n0, n1;
    rnn::split_range(N, 8, omp_get_thread_num(), omp_get_num_threads(), n0, n1);
    const int64_t m = n1 - n0;
    for (int64_t t = 0; t < T && m > 0 && U > 0; ++t) {
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
  }
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
  float* dzx = rnn::scratch(0, M * G);                      // gradients of x_t W + b_in, (N, T, 3U)
  float* dzr = reset_after ? rnn::scratch(1, M * G) : nullptr;  // of h_{t-1} R + b_rec, (N, T, 3U)
  float* dq = reset_after ? nullptr : rnn::scratch(1, N * U);   // reaching q = r * h_{t-1}, one step
  // R^T (3U, U), so each step's GEMM reads plain row blocks of it.
  float* rt = rnn::scratch(2, G * U);
  for (int64_t u = 0; u < U; ++u)
    for (int64_t j = 0; j < G; ++j) rt[j * U + u] = R[u * G + j];
  const int nt = rnn::row_threads(N, U, 3);
  {
    rnn::SerialGemm serial;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
      int64_t n0, n1;
      rnn::split_range(N, 8, omp_get_thread_num(), omp_get_num_threads(), n0, n1);
      const int64_t m = n1 - n0, o = n0 * T;
      float* dh = dh0 + n0 * U;
      for (int64_t t = T - 1; t >= 0 && m > 0 && U > 0; --t) {
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
    }
  }
  if (M == 0 || U == 0) {  // no steps (or no units): the weights got no gradient
    std::fill(dk, dk + D * G, 0.0f);
    std::fill(drk, drk + U * G, 0.0f);
    std::fill(db_in, db_in + G, 0.0f);
    if (reset_after) std::fill(db_rec, db_rec + G, 0.0f);
    std::fill(dx, dx + M * D, 0.0f);
    return;
  }
  // h_{t-1} of every step, (N, T, U), the left operand of drecurrent_kernel.
  float* hp = rnn::scratch(3, M * U);
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

// LSTM forward and backward through time, as the fused RNN libraries do it: the input projection of every step is one big
// GEMM up front, the time loop then does one small recurrent GEMM plus one fused pointwise pass per
// step, and backward mirrors it (the weight gradients of all steps as one big GEMM after the loop, dx as another).
//
// The reserve doubles as the gate buffer: the input GEMM writes x W into the first 4U columns of
// every (n, t) row, and each step's pointwise pass adds the recurrent part and the bias and
// overwrites them in place with the activated gates and c_t. h_{t-1} for step t is read straight out
// of y, so no per-step copies.
#include "cpu/lstm.h"


#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "common/workspace.h"

#include "cpu/gemm.h"
#include "cpu/lstm_pointwise.h"
#include "cpu/rnn_loop.h"

namespace forgenet {

namespace {

using FwdFn = void (*)(const LstmFwdRows&, int64_t, int64_t, int64_t, int64_t);
using BwdFn = void (*)(const LstmBwdRows&, int64_t, int64_t, int64_t, int64_t);

// How the time loop is split over threads. Preferred: by samples (rows), which needs no
// synchronisation at all, since every sample is an independent recurrence; each thread gets >= 8 rows
// (whole GEMM micro-panels). For small batches with wide states: by units, with one barrier per step.
// Either way one thread per ~0.5M multiply-adds of a step's recurrent GEMM at most (below that the
// split costs more than it saves).
struct Plan {
  int threads = 1;
  bool by_rows = true;
};

Plan plan_loop(int64_t N, int64_t U) {
  Plan p;
  if (pool::inside()) return p;
  const int64_t by_work = std::min<int64_t>(pool::max_threads(), static_cast<int64_t>(4.0 * N * U * U / 5e5));
  if (by_work < 2) return p;
  if (N / 8 >= 2) {
    p.threads = static_cast<int>(std::min<int64_t>(by_work, N / 8));
  } else {
    p.threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(by_work, (U + 15) / 16)));
    p.by_rows = false;
  }
  return p;
}

using rnn::split_range;

}  // namespace

void lstm_activations(const float* x, float* sig, float* tnh, int64_t n) {
  FORGENET_ISA_CALL(lstm_activations, x, sig, tnh, n);
}

// The time loop runs as one pool job (see plan_loop). Split by rows, each row block runs the plain
// recurrence on its samples. Split by units, thread k computes the recurrent GEMM columns of
// its units' four gates (from a copy of recurrent_kernel whose columns are regrouped per block:
// [i f c o] of block 0, then of block 1, ...) and their pointwise pass, then waits at one barrier
// per step before anyone reads the new h_t.
void lstm_forward(const float* x, const float* h0, const float* c0, const float* kernel,
                  const float* recurrent_kernel, const float* bias, int64_t N, int64_t T, int64_t D,
                  int64_t U, float* y, float* h_T, float* c_T, float* reserve) {
  const int64_t G = 4 * U, RS = kLstmReserveGates * U;
  if (N == 0) return;  // every output is empty, however many steps
  if (U == 0) return;  // y, h_T, c_T and the reserve are all empty
  const FwdFn fwd = FORGENET_ISA_PICK(lstm_fwd_rows);
  const Plan p = plan_loop(N, U);
  const int nt = p.threads;
  // x W of samples [n0, n1): split by rows, each thread projects its own samples inside the loop's
  // region (one team wake-up per call, not two, and the rows are warm in its cache when the loop starts)
  const bool own_rows = p.by_rows && nt > 1;
  auto project = [&](int64_t n0, int64_t n1) {
    if (!kernel) {  // x is already x W
      for (int64_t r = n0 * T; r < n1 * T; ++r) std::memcpy(reserve + r * RS, x + r * G, G * sizeof(float));
    } else if ((n1 - n0) * T > 0) {
      sgemm(false, false, (n1 - n0) * T, G, D, 1.0f, x + n0 * T * D, D, kernel, G, 0.0f, reserve + n0 * T * RS, RS);
    }
  };
  if (!own_rows) project(0, N);
  const int blocks = p.by_rows ? 1 : nt;  // unit blocks
  // the recurrent products h_{t-1} R of one step (N, 4U), and recurrent_kernel regrouped per unit block
  Scratch scratch(Scratch::floats(mul_sat(N, G)) + Scratch::floats(blocks > 1 ? U * G : 0),
                  "lstm's recurrent products of a step");
  float* zr = scratch.take(mul_sat(N, G));
  float* rb = blocks > 1 ? scratch.take(U * G) : nullptr;
  const float* R = recurrent_kernel;
  if (blocks > 1) {
    for (int k = 0; k < blocks; ++k) {
      int64_t u0, u1;
      split_range(U, 16, k, blocks, u0, u1);
      const int64_t w = u1 - u0;
      for (int64_t q = 0; q < U; ++q)
        for (int g = 0; g < 4; ++g)
          std::memcpy(&rb[q * G + 4 * u0 + g * w], recurrent_kernel + q * G + g * U + u0, w * sizeof(float));
    }
    R = rb;
  }
  // each unit block's 4 * w columns of R packed once for all T steps' GEMMs
  std::vector<PackedB> rpack(blocks);
  for (int k = 0; k < blocks; ++k) {
    int64_t u0 = 0, u1 = U;
    if (blocks > 1) split_range(U, 16, k, blocks, u0, u1);
    rpack[k] = sgemm_pack_b(best_isa(), false, U, 4 * (u1 - u0), R + 4 * u0, G, blocks > 1 ? N : (N + nt - 1) / nt);
  }
  // One step for samples [n0, n1) and units [u0, u1) (R's columns for them: rk).
  auto step = [&](int64_t t, int64_t n0, int64_t n1, int64_t u0, int64_t u1, const PackedB& rk) {
    const int64_t m = n1 - n0, w = u1 - u0;
    if (m <= 0 || w <= 0) return;
    const float* h_prev = t ? y + n0 * T * U + (t - 1) * U : h0 + n0 * U;
    const int64_t ldh = t ? T * U : U;
    float* r = reserve + n0 * T * RS + t * RS;
    float* z = zr + n0 * G + 4 * u0;
    sgemm_packed(false, m, 1.0f, h_prev, ldh, rk, 0.0f, z, G);
    LstmFwdRows a{r, T * RS, z, G, w, bias, t ? r - RS + G : c0 + n0 * U, t ? T * RS : U,
                  y + n0 * T * U + t * U, T * U};
    fwd(a, m, U, u0, u1);
  };
  if (p.by_rows) {  // no synchronisation: row blocks are claimed, so a late thread's block runs elsewhere
    parallel_run(nt, nt, [&](int k) {
      int64_t n0, n1;
      split_range(N, 8, k, nt, n0, n1);
      if (own_rows) project(n0, n1);
      for (int64_t t = 0; t < T; ++t) step(t, n0, n1, 0, U, rpack[0]);
    });
  } else {
    parallel_team(nt, [&](int k, int team) {
      for (int64_t t = 0; t < T; ++t) {
        for (int b = k; b < blocks; b += team) {  // one block per thread unless the team came up short
          int64_t u0, u1;
          split_range(U, 16, b, blocks, u0, u1);
          step(t, 0, N, u0, u1, rpack[b]);
        }
        pool::team_barrier();
      }
    });
  }
  for (int64_t n = 0; n < N; ++n) {
    std::memcpy(h_T + n * U, T ? y + (n * T + T - 1) * U : h0 + n * U, U * sizeof(float));
    std::memcpy(c_T + n * U, T ? reserve + (n * T + T - 1) * RS + G : c0 + n * U, U * sizeof(float));
  }
}

// Backward mirrors it. Split by units: thread k runs the pointwise pass for its units, a barrier
// completes the step's dz, then thread k computes dh_{t-1} for its own units (dz_t R^T restricted to
// those columns), which is all its next pointwise pass reads: again one barrier per step.
void lstm_backward(const float* dy, const float* dh_T, const float* dc_T, const float* x,
                   const float* h0, const float* c0, const float* kernel,
                   const float* recurrent_kernel, const float* reserve, int64_t N, int64_t T,
                   int64_t D, int64_t U, float* dx, float* dh0, float* dc0, float* dkernel,
                   float* drecurrent_kernel, float* dbias) {
  const int64_t G = 4 * U, RS = kLstmReserveGates * U;
  if (N == 0 || U == 0 || T == 0) {  // no step runs: the gradients are zero (dh0, dc0 pass dh_T, dc_T through)
    std::fill(dx, dx + N * T * D, 0.0f);
    if (dh_T) std::copy(dh_T, dh_T + N * U, dh0); else std::fill(dh0, dh0 + N * U, 0.0f);
    if (dc_T) std::copy(dc_T, dc_T + N * U, dc0); else std::fill(dc0, dc0 + N * U, 0.0f);
    if (dkernel) std::fill(dkernel, dkernel + D * G, 0.0f);
    std::fill(drecurrent_kernel, drecurrent_kernel + U * G, 0.0f);
    std::fill(dbias, dbias + G, 0.0f);
    return;
  }
  const BwdFn bwd = FORGENET_ISA_PICK(lstm_bwd_rows);
  // dh0 / dc0 double as the running gradients reaching h_t / c_t.
  if (dh_T) std::memcpy(dh0, dh_T, N * U * sizeof(float)); else std::fill(dh0, dh0 + N * U, 0.0f);
  if (dc_T) std::memcpy(dc0, dc_T, N * U * sizeof(float)); else std::fill(dc0, dc0 + N * U, 0.0f);
  const Plan p = plan_loop(N, U);
  const int nt = p.threads, blocks = p.by_rows ? 1 : nt;
  // Split by rows, each row block's thread also computes the weight gradients and dx of its samples
  // right after its loop (dz still warm in its cache, no team woken per GEMM); a second loop then sums
  // the blocks' partial weight gradients.
  const bool own_rows = p.by_rows && nt > 1;
  // dz: the pre-activation gradients of every step, (N, T, 4U). xh: [x_t | h_{t-1}] of every step,
  // (N, T, D + U), so that dkernel and drecurrent_kernel come out of ONE GEMM xh^T dz, which packs dz
  // once instead of twice. parts: per thread, that GEMM's (D + U, 4U) and dbias (4U) over its rows.
  // Projected (no kernel): dz is dx itself, and xh holds h_{t-1} only.
  const int64_t M = N * T, Dx = kernel ? D : 0, DU = Dx + U, S = DU * G + G;
  Scratch scratch(Scratch::floats(kernel ? mul_sat(M, G) : 0) + Scratch::floats(mul_sat(M, DU)) +
                      Scratch::floats(mul_sat(nt, S)),
                  "lstm_backward's gate gradients and inputs of every step");
  float* dz = kernel ? scratch.take(mul_sat(M, G)) : dx;
  float* xh = scratch.take(mul_sat(M, DU));
  float* parts = scratch.take(mul_sat(nt, S));
  // recurrent_kernel^T (4U, U), each unit block's columns packed once for all T steps' GEMMs
  std::vector<PackedB> rtpack(blocks);
  for (int b = 0; b < blocks; ++b) {
    int64_t u0 = 0, u1 = U;
    if (blocks > 1) split_range(U, 16, b, blocks, u0, u1);
    rtpack[b] = sgemm_pack_b(best_isa(), true, G, u1 - u0, recurrent_kernel + u0 * G, G,
                             blocks > 1 ? N : (N + nt - 1) / nt);
  }
  // x and h0 into their columns of xh, for samples [n0, n1) (the loop fills in h_1 .. h_{T-1})
  auto fill_xh = [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t t = 0; t < T && Dx > 0; ++t)
        std::memcpy(xh + (n * T + t) * DU, x + (n * T + t) * D, D * sizeof(float));
      std::memcpy(xh + n * T * DU + Dx, h0 + n * U, U * sizeof(float));
    }
  };
  auto pointwise = [&](int64_t t, int64_t n0, int64_t n1, int64_t u0, int64_t u1) {
    if (n1 <= n0 || u1 <= u0) return;
    const int64_t o = n0 * T;  // first row of these samples in (N, T, .) arrays
    LstmBwdRows a{reserve + (o + t) * RS, T * RS,
                  t ? reserve + (o + t - 1) * RS + G : c0 + n0 * U, t ? T * RS : U,
                  dy ? dy + (o + t) * U : nullptr, T * U,
                  dh0 + n0 * U, dc0 + n0 * U, dz + (o + t) * G, T * G,
                  t + 1 < T ? xh + (o + t + 1) * DU + Dx : nullptr, T * DU};
    bwd(a, n1 - n0, U, u0, u1);
  };
  auto dh_gemm = [&](int64_t t, int64_t n0, int64_t n1, int64_t u0, int64_t u1, const PackedB& rt) {
    if (n1 <= n0 || u1 <= u0) return;
    sgemm_packed(false, n1 - n0, 1.0f, dz + (n0 * T + t) * G, T * G, rt, 0.0f, dh0 + n0 * U + u0, U);
  };
  // dx, the partial weight gradients (xh^T dz) and dbias of rows [r0, r0 + m) into part
  auto weight_grads = [&](int64_t r0, int64_t m, float* part) {
    if (m == 0) return std::fill(part, part + S, 0.0f);
    if (kernel) sgemm(false, true, m, D, G, 1.0f, dz + r0 * G, G, kernel, G, 0.0f, dx + r0 * D, D);
    sgemm(true, false, DU, G, m, 1.0f, xh + r0 * DU, DU, dz + r0 * G, G, 0.0f, part, G);
    rnn::column_sums(dz + r0 * G, m, G, G, part + DU * G);
  };
  // elements [lo, hi) of (dkernel, drecurrent_kernel, dbias) flattened: the sum of `count` parts
  auto sum_parts = [&](int64_t lo, int64_t hi, int count) {
    float* const dst[3] = {dkernel, drecurrent_kernel, dbias};
    const int64_t start[4] = {0, Dx * G, DU * G, S};
    for (int s = 0; s < 3; ++s)
      for (int64_t e = std::max(lo, start[s]); e < std::min(hi, start[s + 1]); ++e) {
        float acc = parts[e];
        for (int q = 1; q < count; ++q) acc += parts[q * S + e];
        dst[s][e - start[s]] = acc;
      }
  };
  {
      if (p.by_rows) {
      parallel_run(nt, nt, [&](int k) {
        int64_t n0, n1;
        split_range(N, 8, k, nt, n0, n1);
        fill_xh(n0, n1);
        for (int64_t t = T - 1; t >= 0; --t) {
          pointwise(t, n0, n1, 0, U);
          dh_gemm(t, n0, n1, 0, U, rtpack[0]);
        }
        if (own_rows) weight_grads(n0 * T, (n1 - n0) * T, parts + k * S);
      });
      if (own_rows)  // (a second claimed loop rather than a barrier: no thread waits for a late one)
        parallel_run(nt, nt, [&](int k) {
          int64_t lo, hi;
          split_range(S, 16, k, nt, lo, hi);
          sum_parts(lo, hi, nt);
        });
    } else {
      parallel_team(nt, [&](int k, int team) {
        {  // nobody in the loop reads xh, nor writes what this does: no barrier needed
          int64_t n0, n1;
          split_range(N, 1, k, team, n0, n1);
          fill_xh(n0, n1);
        }
        for (int64_t t = T - 1; t >= 0; --t) {
          for (int b = k; b < nt; b += team) {
            int64_t u0, u1;
            split_range(U, 16, b, nt, u0, u1);
            pointwise(t, 0, N, u0, u1);
          }
          pool::team_barrier();
          for (int b = k; b < nt; b += team) {
            int64_t u0, u1;
            split_range(U, 16, b, nt, u0, u1);
            dh_gemm(t, 0, N, u0, u1, rtpack[b]);
          }
        }
      });
    }
  }
  if (!own_rows) {  // with the whole team per GEMM
    weight_grads(0, M, parts);
    sum_parts(0, S, 1);
  }
}

}  // namespace forgenet

// GRU over a whole sequence (Keras 3 layout: gates z, r, h; sigmoid / tanh), forward and backward
// through time. Row-major, batch first: x (N,T,D), h0 (N,U), kernel (D,3U), recurrent_kernel (U,3U).
//
// reset_after = true (Keras 3's default, cuDNN's form):  bias (2, 3U) = [input bias; recurrent bias]
//   [xz xr xh] = x_t W + b_in,  [rz rr rh] = h_{t-1} R + b_rec
//   z = sig(xz + rz),  r = sig(xr + rr),  hh = tanh(xh + r * rh)
// reset_after = false:  bias (3U,), the reset gate applied before the product
//   z = sig(xz + h_{t-1} Rz),  r = sig(xr + h_{t-1} Rr),  hh = tanh(xh + (r * h_{t-1}) Rh)
// and in both  h_t = z * h_{t-1} + (1 - z) * hh.
//
// The reserve (N, T, 5U) holds per sample and step [z r hh q h_t], q = rh (reset_after) or
// r * h_{t-1} (reset_before): with x, h0 and the weights, everything backward needs.
#pragma once
#include <cstdint>

#include "common/shapes.h"  // kGruReserveGates: the reserve layout both devices share

namespace forgenet {

// b_rec is read only when reset_after (then b_in, b_rec are the two rows of Keras's (2, 3U) bias).
// Writes y (N,T,U), h_T (N,U), reserve (N,T,5U). Any N, T, D, U >= 0.
void gru_forward(const float* x, const float* h0, const float* kernel, const float* recurrent_kernel,
                 const float* b_in, const float* b_rec, bool reset_after, int64_t N, int64_t T, int64_t D,
                 int64_t U, float* y, float* h_T, float* reserve);

// dy (N,T,U) and dh_T (N,U) may be null (zero). Writes dx (N,T,D), dh0 (N,U), dkernel (D,3U),
// drecurrent_kernel (U,3U), db_in (3U) and, when reset_after, db_rec (3U).
void gru_backward(const float* dy, const float* dh_T, const float* x, const float* h0, const float* kernel,
                  const float* recurrent_kernel, const float* reserve, bool reset_after, int64_t N, int64_t T,
                  int64_t D, int64_t U, float* dx, float* dh0, float* dkernel, float* drecurrent_kernel,
                  float* db_in, float* db_rec);

// The fused pointwise passes of one step for every unit of N samples (rows n at base + n * ld), one
// table per ISA build (gru_pointwise.h).
// Forward: r rows are reserve rows of step t whose first 3U columns hold x_t W; zr rows the step's
// recurrent product (after: h R, 3U; before pass A: h [Rz Rr], 2U; before pass B: q Rh, U).
// Backward: dh (N,U, stride U) holds the gradient reaching h_t from step t+1 on entry (dy[t] is added
// here) and leaves with the part of the gradient reaching h_{t-1} that is not a GEMM; dzx / dzr rows
// get the pre-activation gradients of the input / recurrent products; dq (stride U) is the gradient
// reaching q = r * h_{t-1}, read by reset_before's pass B.
struct GruFwdRows {
  float* r; int64_t ldr;
  const float* zr; int64_t ldzr;
  const float* b_in;
  const float* b_rec;
  const float* h_prev; int64_t ldhp;
  float* y; int64_t ldy;
};
struct GruBwdRows {
  const float* r; int64_t ldr;
  const float* h_prev; int64_t ldhp;
  const float* dy; int64_t ldy;
  float* dh;
  float* dzx; int64_t lddzx;
  float* dzr; int64_t lddzr;
  const float* dq;
};
using GruFwdPass = void (*)(const GruFwdRows&, int64_t N, int64_t U);
using GruBwdPass = void (*)(const GruBwdRows&, int64_t N, int64_t U);
struct GruPasses {
  GruFwdPass fwd_after, fwd_before_a, fwd_before_b;
  GruBwdPass bwd_after, bwd_before_a, bwd_before_b;
};

}  // namespace forgenet

// LSTM over a whole sequence (Keras layout: gates i, f, c, o; tanh / sigmoid), forward and backward
// through time. Row-major, batch first: x (N,T,D), h0/c0 (N,U), kernel (D,4U), recurrent_kernel
// (U,4U), bias (4U,).
//
// The reserve (N, T, 5U) holds, per sample and step, the four gates after activation [i f c~ o]
// followed by the cell state c_t: everything backward needs besides x, h0, c0 and the weights
// (h_{t-1} is recomputed there as o * tanh(c), bit for bit what forward produced).
#pragma once
#include <cstdint>

#include "common/shapes.h"  // kLstmReserveGates: reserve row = 5U floats

namespace forgenet {

// y (N,T,U), h_T / c_T (N,U), reserve (N,T,5U): all written. Works for any N, T, D, U >= 0.
// kernel null: x is already x @ kernel (N,T,4U; D = 4U), e.g. rows of embedding_table @ kernel gathered
// by id, which for a small vocabulary replaces the (N*T, D, 4U) input GEMM by a (vocab, D, 4U) one.
void lstm_forward(const float* x, const float* h0, const float* c0, const float* kernel,
                  const float* recurrent_kernel, const float* bias, int64_t N, int64_t T, int64_t D,
                  int64_t U, float* y, float* h_T, float* c_T, float* reserve);

// dy (N,T,U), dh_T, dc_T (N,U) may each be null (zero). Writes dx (N,T,D), dh0, dc0 (N,U),
// dkernel (D,4U), drecurrent_kernel (U,4U), dbias (4U,). kernel null (x = x @ kernel, D = 4U): dx is
// the gradient of x @ kernel, which is the pre-activation gradient of every step; dkernel is unused.
void lstm_backward(const float* dy, const float* dh_T, const float* dc_T, const float* x,
                   const float* h0, const float* c0, const float* kernel,
                   const float* recurrent_kernel, const float* reserve, int64_t N, int64_t T,
                   int64_t D, int64_t U, float* dx, float* dh0, float* dc0, float* dkernel,
                   float* drecurrent_kernel, float* dbias);

// The fused pointwise passes of one step for units [u0, u1) of every sample (lstm_pointwise.h, one
// build per ISA). All row strides are in floats.
// Forward: r (reserve rows of step t) holds x_t W in its first 4U columns; the recurrent part
// h_{t-1} R for these units is at zr + n*ldzr + gate*zgs + (u - u0). r is overwritten with the
// activated gates and c_t (at r + 4U); h_t goes to h.
// Backward: r rows are reserve rows of step t; dh (N,U) is the gradient reaching h_t from step t+1
// (dy[t] is added here), dc (N,U) is updated in place to the gradient reaching c_{t-1}; dz rows get
// the pre-activation gradients; h_out (may be null) gets h_t = o * tanh(c_t).
struct LstmFwdRows {
  float* r; int64_t ldr;
  const float* zr; int64_t ldzr, zgs;
  const float* bias;
  const float* c_prev; int64_t ldc;
  float* h; int64_t ldh;
};
struct LstmBwdRows {
  const float* r; int64_t ldr;
  const float* c_prev; int64_t ldc;
  const float* dy; int64_t ldy;
  const float* dh;
  float* dc;
  float* dz; int64_t lddz;
  float* h_out; int64_t ldho;
};

// The vectorised sigmoid and tanh the passes use, exposed so tests can check their accuracy.
void lstm_activations(const float* x, float* sig, float* tnh, int64_t n);

}  // namespace forgenet

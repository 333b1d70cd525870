// Device-neutral problem shapes and buffer layouts the CPU and CUDA kernels of one family share, so
// that a reserve written by one device can be read by the other and the contracts check one thing.
#pragma once
#include <cstdint>

namespace forgenet {

// Attention: q (BH, Nq, d), k (BH, Nk, d), v (BH, Nk, dv), o (BH, Nq, dv), lse (BH, Nq).
struct AttnShape {
  int64_t bh, nq, nk, d, dv;
  float scale;
  bool causal;
};

// LSTM: x (N, T, D), h0 / c0 (N, U), kernel (D, 4U), recurrent_kernel (U, 4U), bias (4U,).
// The reserve (N, T, 5U) holds, per sample and step, the four activated gates [i f c~ o] and c_t.
inline constexpr int64_t kLstmGates = 4;
inline constexpr int64_t kLstmReserveGates = 5;  // reserve row = 5U floats
// Every fused recurrent family (LSTM, GRU, SimpleRNN): x (N, T, D), states (N, U).
struct RnnShape {
  int64_t n, t, d, u;
};
using LstmShape = RnnShape;

// GRU: kernel (D, 3U), recurrent_kernel (U, 3U) in the gate order z, r, h. The reserve (N, T, 5U) holds,
// per sample and step, [z, r, hh, q, h_t].
inline constexpr int64_t kGruGates = 3;
inline constexpr int64_t kGruReserveGates = 5;  // reserve row = 5U floats

}  // namespace forgenet

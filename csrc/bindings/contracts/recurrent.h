// The shape rules every fused recurrent family (lstm, gru, simple_rnn) shares, for both devices:
// x (N, T, D), states (N, U), kernel (D, G*U) and recurrent_kernel (U, G*U) with G gates, U from
// recurrent_kernel as in Keras; the reserve (N, T, R*U) the forward hands its backward; the optional
// output gradients of the backward. Each family's contract adds its bias rule and its states.
#pragma once

#include <string>

#include "bindings/contracts/array.h"
#include "common/shapes.h"

namespace forgenet::contract {

// G gates in the weights, R floats per unit in a reserve row (R >= G); `forward` names the op whose
// training output the reserve is.
struct RnnCell {
  int64_t gates, reserve_gates;
  const char* forward;
};

inline std::string units_word(int64_t k) { return k == 1 ? std::string("units") : std::to_string(k) + "*units"; }

inline void require_state(const char* op, const char* name, const ArrayDesc& a, const RnnShape& s) {
  if (a.dim(0) != s.n || a.dim(1) != s.u)
    value_error(op, ": ", name, " must have shape (", s.n, ", ", s.u, ") (batch, units), got ", shape_str(a.shape));
}

// x, kernel, recurrent_kernel already checked for dtype and rank 3, 2, 2; returns the problem's shape with the
// sizes the outputs need checked against int64. *gu receives G*U.
inline RnnShape recurrent_shape(const char* op, const RnnCell& cell, const ArrayDesc& x, const ArrayDesc& kernel,
                                const ArrayDesc& rk, int64_t* gu) {
  const int64_t N = x.dim(0), T = x.dim(1), D = x.dim(2), U = rk.dim(0);
  // R*U first: it is the largest multiple of U anything uses, so G*U below cannot overflow
  const int64_t RU = checked_mul(op, (std::to_string(cell.reserve_gates) + " * units").c_str(), cell.reserve_gates, U);
  const int64_t GU = RU / cell.reserve_gates * cell.gates;
  if (rk.dim(1) != GU)
    value_error(op, ": recurrent_kernel must have shape (units, ", units_word(cell.gates), "), got ", shape_str(rk.shape));
  if (kernel.dim(0) != D || kernel.dim(1) != GU)
    value_error(op, ": kernel must have shape (", D, ", ", GU, ") for x ", shape_str(x.shape), " and units=", U,
                ", got ", shape_str(kernel.shape));
  const RnnShape s{N, T, D, U};
  output_size(op, ("the reserve (batch, steps, " + units_word(cell.reserve_gates) + ")").c_str(), {N, T, RU});
  output_size(op, "the output y (batch, steps, units)", {N, T, U});
  if (gu) *gu = GU;
  return s;
}

inline Shape reserve_shape(const RnnCell& cell, const RnnShape& s) { return {s.n, s.t, cell.reserve_gates * s.u}; }

inline void require_reserve(const char* op, const RnnCell& cell, const ArrayDesc& reserve, const RnnShape& s) {
  require(reserve, op, "reserve", DType::F32, 3);
  if (reserve.shape != reserve_shape(cell, s))
    value_error(op, ": reserve must have shape ", shape_str(reserve_shape(cell, s)), " (batch, steps, ",
                units_word(cell.reserve_gates), ") as returned by ", cell.forward, "(..., training=True), got ",
                shape_str(reserve.shape));
}

// An output gradient the caller may leave out (null: zero).
inline void optional_grad(const char* op, const char* name, const ArrayDesc* d, const Shape& want) {
  if (!d) return;
  require(*d, op, name, DType::F32, static_cast<int>(want.size()));
  require_shape(*d, op, name, want);
}

// dy (N, T, U) and dh_T (N, U), each optional, and the input gradient's size.
inline void recurrent_grads(const char* op, const RnnShape& s, const ArrayDesc* dy, const ArrayDesc* dhT) {
  optional_grad(op, "dy", dy, {s.n, s.t, s.u});
  optional_grad(op, "dh_T", dhT, {s.n, s.u});
  output_size(op, "the gradient dx", {s.n, s.t, s.d});
}

}  // namespace forgenet::contract

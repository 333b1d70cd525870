// Contract of lstm / lstm_backward (both devices). Shapes in common/shapes.h; U comes from
// recurrent_kernel (U, 4U) as in Keras.
#pragma once

#include "bindings/contracts/array.h"
#include "common/shapes.h"

namespace forgenet::contract {

struct LstmArgs {
  const ArrayDesc *x, *h0, *c0, *kernel, *rk, *bias;
};

inline Shape lstm_reserve_shape(const LstmShape& s) { return {s.n, s.t, kLstmReserveGates * s.u}; }

inline LstmShape lstm_forward(const char* op, const LstmArgs& a) {
  require(*a.x, op, "x", DType::F32, 3);
  require(*a.h0, op, "h0", DType::F32, 2);
  require(*a.c0, op, "c0", DType::F32, 2);
  require(*a.kernel, op, "kernel", DType::F32, 2);
  require(*a.rk, op, "recurrent_kernel", DType::F32, 2);
  require(*a.bias, op, "bias", DType::F32, 1);
  const int64_t N = a.x->dim(0), T = a.x->dim(1), D = a.x->dim(2), U = a.rk->dim(0);
  const int64_t U5 = checked_mul(op, "5 * units", kLstmReserveGates, U), U4 = U5 / 5 * 4;
  if (a.rk->dim(1) != U4)
    value_error(op, ": recurrent_kernel must have shape (units, 4*units), got ", shape_str(a.rk->shape));
  if (a.kernel->dim(0) != D || a.kernel->dim(1) != U4)
    value_error(op, ": kernel must have shape (", D, ", ", U4, ") for x ", shape_str(a.x->shape), " and units=", U,
                ", got ", shape_str(a.kernel->shape));
  if (a.bias->dim(0) != U4)
    value_error(op, ": bias must have shape (", U4, ",) for units=", U, ", got ", shape_str(a.bias->shape));
  if (a.h0->dim(0) != N || a.h0->dim(1) != U)
    value_error(op, ": h0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(a.h0->shape));
  if (a.c0->dim(0) != N || a.c0->dim(1) != U)
    value_error(op, ": c0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(a.c0->shape));
  const LstmShape s{N, T, D, U};
  output_size(op, "the reserve (batch, steps, 5*units)", lstm_reserve_shape(s));
  output_size(op, "the output y (batch, steps, units)", {N, T, U});
  return s;
}

// dy, dh_T, dc_T may be null (None: zero gradient).
inline LstmShape lstm_backward(const char* op, const LstmArgs& a, const ArrayDesc& reserve, const ArrayDesc* dy,
                               const ArrayDesc* dhT, const ArrayDesc* dcT) {
  const LstmShape s = lstm_forward(op, a);
  require(reserve, op, "reserve", DType::F32, 3);
  if (reserve.shape != lstm_reserve_shape(s))
    value_error(op, ": reserve must have shape ", shape_str(lstm_reserve_shape(s)),
                " (batch, steps, 5*units) as returned by lstm(..., training=True), got ", shape_str(reserve.shape));
  auto opt = [&](const ArrayDesc* d, const char* name, const Shape& want) {
    if (!d) return;
    require(*d, op, name, DType::F32, static_cast<int>(want.size()));
    require_shape(*d, op, name, want);
  };
  opt(dy, "dy", {s.n, s.t, s.u});
  opt(dhT, "dh_T", {s.n, s.u});
  opt(dcT, "dc_T", {s.n, s.u});
  output_size(op, "the gradient dx", {s.n, s.t, s.d});
  return s;
}

}  // namespace forgenet::contract

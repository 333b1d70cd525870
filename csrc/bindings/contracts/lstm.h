// Contract of lstm / lstm_backward (both devices). Shapes in common/shapes.h and the rules every recurrent
// family shares in recurrent.h; U comes from recurrent_kernel (U, 4U) as in Keras.
#pragma once

#include "bindings/contracts/recurrent.h"

namespace forgenet::contract {

inline constexpr RnnCell kLstmCell{kLstmGates, kLstmReserveGates, "lstm"};

struct LstmArgs {
  const ArrayDesc *x, *h0, *c0, *kernel, *rk, *bias;
};

inline Shape lstm_reserve_shape(const LstmShape& s) { return reserve_shape(kLstmCell, s); }

inline LstmShape lstm_forward(const char* op, const LstmArgs& a) {
  require(*a.x, op, "x", DType::F32, 3);
  require(*a.h0, op, "h0", DType::F32, 2);
  require(*a.c0, op, "c0", DType::F32, 2);
  require(*a.rk, op, "recurrent_kernel", DType::F32, 2);
  require(*a.bias, op, "bias", DType::F32, 1);
  // kernel null (CPU only): x is already x @ kernel, (N, T, 4U); checked as if kernel were (4U, 4U)
  ArrayDesc projected;
  if (a.kernel) {
    require(*a.kernel, op, "kernel", DType::F32, 2);
  } else {
    if (a.rk->dim(1) != 4 * a.rk->dim(0) || a.x->dim(2) != a.rk->dim(1))
      value_error(op, ": with kernel=None, x must be x @ kernel, of shape (batch, steps, 4 * units) for "
                  "recurrent_kernel ", shape_str(a.rk->shape), ", got ", shape_str(a.x->shape));
    projected.dtype = DType::F32;
    projected.shape = {a.x->dim(2), a.x->dim(2)};
  }
  int64_t U4 = 0;
  const LstmShape s = recurrent_shape(op, kLstmCell, *a.x, a.kernel ? *a.kernel : projected, *a.rk, &U4);
  if (a.bias->dim(0) != U4)
    value_error(op, ": bias must have shape (", U4, ",) for units=", s.u, ", got ", shape_str(a.bias->shape));
  require_state(op, "h0", *a.h0, s);
  require_state(op, "c0", *a.c0, s);
  return s;
}

// dy, dh_T, dc_T may be null (None: zero gradient).
inline LstmShape lstm_backward(const char* op, const LstmArgs& a, const ArrayDesc& reserve, const ArrayDesc* dy,
                               const ArrayDesc* dhT, const ArrayDesc* dcT) {
  const LstmShape s = lstm_forward(op, a);
  require_reserve(op, kLstmCell, reserve, s);
  recurrent_grads(op, s, dy, dhT);
  optional_grad(op, "dc_T", dcT, {s.n, s.u});
  return s;
}

}  // namespace forgenet::contract

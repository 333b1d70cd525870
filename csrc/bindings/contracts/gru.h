// Contract of gru / gru_backward (both devices): the recurrent rules of recurrent.h with 3 gates (z, r, h)
// and a reserve of 5U floats per step; the bias is (2, 3U) [input; recurrent] with reset_after, (3U,) without.
#pragma once

#include "bindings/contracts/recurrent.h"

namespace forgenet::contract {

inline constexpr RnnCell kGruCell{kGruGates, kGruReserveGates, "gru"};

struct GruArgs {
  const ArrayDesc *x, *h0, *kernel, *rk, *bias;
};

inline Shape gru_bias_shape(const RnnShape& s, bool reset_after) {
  return reset_after ? Shape{2, kGruGates * s.u} : Shape{kGruGates * s.u};
}

inline RnnShape gru_forward(const char* op, const GruArgs& a, bool reset_after) {
  require(*a.x, op, "x", DType::F32, 3);
  require(*a.h0, op, "h0", DType::F32, 2);
  require(*a.kernel, op, "kernel", DType::F32, 2);
  require(*a.rk, op, "recurrent_kernel", DType::F32, 2);
  require(*a.bias, op, "bias", DType::F32, reset_after ? 2 : 1);
  const RnnShape s = recurrent_shape(op, kGruCell, *a.x, *a.kernel, *a.rk, nullptr);
  if (a.bias->shape != gru_bias_shape(s, reset_after))
    value_error(op, ": bias must have shape ", shape_str(gru_bias_shape(s, reset_after)), " for units=", s.u,
                " with reset_after=", reset_after ? "True" : "False", ", got ", shape_str(a.bias->shape));
  require_state(op, "h0", *a.h0, s);
  return s;
}

// dy and dh_T may be null (None: zero gradient).
inline RnnShape gru_backward(const char* op, const GruArgs& a, bool reset_after, const ArrayDesc& reserve,
                             const ArrayDesc* dy, const ArrayDesc* dhT) {
  const RnnShape s = gru_forward(op, a, reset_after);
  require_reserve(op, kGruCell, reserve, s);
  recurrent_grads(op, s, dy, dhT);
  return s;
}

}  // namespace forgenet::contract

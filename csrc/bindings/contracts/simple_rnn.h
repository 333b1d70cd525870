// Contract of simple_rnn / simple_rnn_backward (both devices): the recurrent rules of recurrent.h with one
// gate; bias (U,); the reserve (N, T, U) is a copy of y (the
// backward needs only the outputs).
#pragma once

#include "bindings/contracts/recurrent.h"

namespace forgenet::contract {

inline constexpr RnnCell kSimpleRnnCell{1, 1, "simple_rnn"};

struct SimpleRnnArgs {
  const ArrayDesc *x, *h0, *kernel, *rk, *bias;
};

inline RnnShape simple_rnn_forward(const char* op, const SimpleRnnArgs& a) {
  require(*a.x, op, "x", DType::F32, 3);
  require(*a.h0, op, "h0", DType::F32, 2);
  require(*a.kernel, op, "kernel", DType::F32, 2);
  require(*a.rk, op, "recurrent_kernel", DType::F32, 2);
  require(*a.bias, op, "bias", DType::F32, 1);
  const RnnShape s = recurrent_shape(op, kSimpleRnnCell, *a.x, *a.kernel, *a.rk, nullptr);
  if (a.bias->dim(0) != s.u)
    value_error(op, ": bias must have shape (", s.u, ",) for units=", s.u, ", got ", shape_str(a.bias->shape));
  require_state(op, "h0", *a.h0, s);
  return s;
}

inline Shape simple_rnn_reserve_shape(const RnnShape& s) { return reserve_shape(kSimpleRnnCell, s); }

inline RnnShape simple_rnn_backward(const char* op, const SimpleRnnArgs& a, const ArrayDesc& reserve,
                                    const ArrayDesc* dy, const ArrayDesc* dhT) {
  const RnnShape s = simple_rnn_forward(op, a);
  require_reserve(op, kSimpleRnnCell, reserve, s);
  recurrent_grads(op, s, dy, dhT);
  return s;
}

}  // namespace forgenet::contract

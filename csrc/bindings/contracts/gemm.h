// Contract of gemm: alpha * op(a) @ op(b) + beta * c, op(x) = x.T when trans_x; c (M, N) or absent
// (then beta must be 0).
#pragma once

#include "bindings/contracts/array.h"

namespace forgenet::contract {

struct GemmShape {
  int64_t m, n, k;
};

inline GemmShape gemm(const char* op, const ArrayDesc& a, const ArrayDesc& b, const ArrayDesc* c, bool trans_a,
                      bool trans_b, double beta) {
  require(a, op, "a", DType::F32, 2);
  require(b, op, "b", DType::F32, 2);
  const int64_t M = trans_a ? a.dim(1) : a.dim(0), K = trans_a ? a.dim(0) : a.dim(1);
  const int64_t Kb = trans_b ? b.dim(1) : b.dim(0), N = trans_b ? b.dim(0) : b.dim(1);
  if (K != Kb)
    value_error(op, ": inner dimensions must match, got op(a) of shape (", M, ", ", K, ") and op(b) of shape (", Kb,
                ", ", N, ")");
  if (!c) {
    if (beta != 0.0) value_error(op, ": c is required when beta != 0 (beta=", beta, ")");
  } else {
    require(*c, op, "c", DType::F32, 2);
    if (c->dim(0) != M || c->dim(1) != N)
      value_error(op, ": c must have shape (", M, ", ", N, ") to match op(a) @ op(b), got ", shape_str(c->shape));
  }
  output_size(op, "the output (M, N)", {M, N});
  return {M, N, K};
}

}  // namespace forgenet::contract

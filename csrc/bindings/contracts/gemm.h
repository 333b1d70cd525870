// Contract of gemm: alpha * op(a) @ op(b) + beta * c, op(x) = x.T when trans_x; c (M, N) or absent
// (then beta must be 0). b may also be a PackedB (gemm_pack_b): op(b) fixed at pack time, and only
// usable by the instruction set it was packed for.
#pragma once

#include <string>

#include "bindings/contracts/array.h"

namespace forgenet::contract {

struct GemmShape {
  int64_t m, n, k;
};

namespace detail {
// op(a) (M, K) against op(b) (Kb, N) named `b_what`, and c: the one rule both forms share.
inline GemmShape gemm_dims(const char* op, int64_t M, int64_t K, int64_t Kb, int64_t N, const char* b_what,
                           const ArrayDesc* c, double beta) {
  if (K != Kb)
    value_error(op, ": inner dimensions must match, got op(a) of shape (", M, ", ", K, ") and ", b_what,
                " of shape (", Kb, ", ", N, ")");
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
}  // namespace detail

inline GemmShape gemm(const char* op, const ArrayDesc& a, const ArrayDesc& b, const ArrayDesc* c, bool trans_a,
                      bool trans_b, double beta) {
  require(a, op, "a", DType::F32, 2);
  require(b, op, "b", DType::F32, 2);
  const int64_t M = trans_a ? a.dim(1) : a.dim(0), K = trans_a ? a.dim(0) : a.dim(1);
  const int64_t Kb = trans_b ? b.dim(1) : b.dim(0), N = trans_b ? b.dim(0) : b.dim(1);
  return detail::gemm_dims(op, M, K, Kb, N, "op(b)", c, beta);
}

// b packed as op(b) of shape (k, n) for the instruction set `packed_isa`; `isa`: the one this process runs.
inline GemmShape gemm_packed(const char* op, const ArrayDesc& a, int64_t k, int64_t n, const std::string& packed_isa,
                             const std::string& isa, const ArrayDesc* c, bool trans_a, double beta) {
  require(a, op, "a", DType::F32, 2);
  if (packed_isa != isa)
    value_error(op, ": b was packed for the ", packed_isa, " kernels, but this process runs ", isa,
                " (FORGENET_ISA or the CPU differs): pack it again with gemm_pack_b");
  const int64_t M = trans_a ? a.dim(1) : a.dim(0), K = trans_a ? a.dim(0) : a.dim(1);
  return detail::gemm_dims(op, M, K, k, n, "the packed b", c, beta);
}

}  // namespace forgenet::contract

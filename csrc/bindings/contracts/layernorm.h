// Contract of layer_norm / layer_norm_backward (both devices): x (..., C) normalised over its last axis
// with gamma, beta (C,); mean and rstd have x's shape without its last axis.
#pragma once

#include "bindings/contracts/array.h"
#include "bindings/contracts/softmax.h"

namespace forgenet::contract {

inline Shape stat_shape(const ArrayDesc& x) { return Shape(x.shape.begin(), x.shape.end() - 1); }

inline void require_affine(const char* op, const char* name, const ArrayDesc& p, const ArrayDesc& x) {
  require(p, op, name, DType::F32, 1);
  if (p.dim(0) != x.dim(-1))
    value_error(op, ": ", name, " must have shape (", x.dim(-1), ",) to match x ", shape_str(x.shape), ", got ",
                shape_str(p.shape));
}

inline void require_x(const char* op, const ArrayDesc& x) {
  require(x, op, "x", DType::F32, -1);
  if (x.ndim() < 1) value_error(op, ": x must have rank >= 1, got a scalar");
}

inline Rows layer_norm_forward(const char* op, const ArrayDesc& x, const ArrayDesc& gamma, const ArrayDesc& beta,
                               double eps) {
  require_x(op, x);
  require_affine(op, "gamma", gamma, x);
  require_affine(op, "beta", beta, x);
  if (!(eps >= 0.0)) value_error(op, ": epsilon must be >= 0, got ", eps);
  const int64_t cols = x.dim(-1);
  // with C == 0 there are still rows (of statistics) to write
  return {cols ? x.size() / cols : checked_product(op, "x.shape[:-1]", stat_shape(x)), cols};
}

inline Rows layer_norm_backward(const char* op, const ArrayDesc& dy, const ArrayDesc& x, const ArrayDesc& gamma,
                                const ArrayDesc& mean, const ArrayDesc& rstd) {
  require(dy, op, "dy", DType::F32, -1);
  require_x(op, x);
  if (dy.shape != x.shape)
    value_error(op, ": dy must have the shape of x ", shape_str(x.shape), ", got ", shape_str(dy.shape));
  require_affine(op, "gamma", gamma, x);
  require(mean, op, "mean", DType::F32, static_cast<int>(x.ndim() - 1));
  require(rstd, op, "rstd", DType::F32, static_cast<int>(x.ndim() - 1));
  if (mean.shape != stat_shape(x) || rstd.shape != stat_shape(x))
    value_error(op, ": mean and rstd must have shape x.shape[:-1] for x ", shape_str(x.shape), ", got ",
                shape_str(mean.shape), " and ", shape_str(rstd.shape));
  const int64_t cols = x.dim(-1);
  return {cols ? x.size() / cols : 0, cols};
}

}  // namespace forgenet::contract

// Contract of softmax, softmax_backward and softmax_cross_entropy (both devices). Softmax runs over the
// last axis of any rank >= 1 (the kernels API moves other axes last): rows x cols.
#pragma once

#include "bindings/contracts/array.h"

namespace forgenet::contract {

struct Rows {
  int64_t rows, cols;
};

inline Rows rows_of(const ArrayDesc& x) {
  const int64_t cols = x.dim(-1);
  return {cols ? x.size() / cols : 0, cols};
}

inline Rows softmax_forward(const char* op, const ArrayDesc& x) {
  require(x, op, "x", DType::F32, -1);
  if (x.ndim() < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  return rows_of(x);
}

inline Rows softmax_backward(const char* op, const ArrayDesc& dy, const ArrayDesc& y) {
  require(dy, op, "dy", DType::F32, -1);
  require(y, op, "y", DType::F32, -1);
  if (dy.shape != y.shape)
    value_error(op, ": dy and y must have the same shape, got ", shape_str(dy.shape), " and ", shape_str(y.shape));
  if (y.ndim() < 1) value_error(op, ": y must have rank >= 1, got a scalar");
  return rows_of(y);
}

// logits (N, C); target is labels (N,) int64 (sparse) or probabilities (N, C) float32 (dense).
inline Rows softmax_xent(const char* op, const ArrayDesc& logits, const ArrayDesc& target, bool sparse) {
  require(logits, op, "logits", DType::F32, 2);
  const int64_t n = logits.dim(0), c = logits.dim(1);
  if (c < 1) value_error(op, ": logits must have at least one class, got shape ", shape_str(logits.shape));
  if (sparse) {
    require(target, op, "labels", DType::I64, 1);
    if (target.dim(0) != n)
      value_error(op, ": labels must have shape (", n, ",) to match logits ", shape_str(logits.shape), ", got ",
                  shape_str(target.shape));
  } else {
    require(target, op, "target", DType::F32, 2);
    if (target.shape != logits.shape)
      value_error(op, ": target must have the shape of logits ", shape_str(logits.shape), ", got ",
                  shape_str(target.shape));
  }
  return {n, c};
}

// What the sparse cross-entropy kernel's report of the first bad label (index k) becomes, for every caller.
[[noreturn]] inline void bad_label(const char* op, const int64_t* labels, int64_t k, int64_t classes) {
  value_error(op, ": labels must be in [0, ", classes, "), got ", labels[k], " at index ", k);
}

}  // namespace forgenet::contract

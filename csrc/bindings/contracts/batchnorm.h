// Contract of batch_norm, batch_norm_inference and batch_norm_backward (both devices): x of any rank >= 1
// viewed as (outer, C, inner) around the channel `axis`; every per-channel vector (gamma, beta, mean,
// variance) is (C,).
#pragma once

#include "bindings/contracts/array.h"

namespace forgenet::contract {

struct ChannelLayout {
  int64_t outer, c, inner;
};

// An empty x has no elements per channel whichever axis is the empty one: (0, C, 0), so no kernel loops over
// the other dimensions (whose product need not even fit int64).
inline ChannelLayout channel_layout(const char* op, const ArrayDesc& x, int64_t axis) {
  require(x, op, "x", DType::F32, -1);
  const int64_t rank = x.ndim();
  if (rank < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  if (axis < -rank || axis >= rank) value_error(op, ": axis ", axis, " is out of range for x of shape ", shape_str(x.shape));
  const int64_t a = axis < 0 ? axis + rank : axis;
  ChannelLayout l{1, x.dim(a), 1};
  if (x.size() == 0) return {0, l.c, 0};
  for (int64_t i = 0; i < a; ++i) l.outer *= x.dim(i);  // fits: x has that many elements
  for (int64_t i = a + 1; i < rank; ++i) l.inner *= x.dim(i);
  return l;
}

inline void require_channel(const char* op, const char* name, const ArrayDesc& p, const ChannelLayout& l,
                            const ArrayDesc& x) {
  require(p, op, name, DType::F32, -1);
  if (p.ndim() != 1 || p.dim(0) != l.c)
    value_error(op, ": ", name, " must have shape (", l.c, ",) to match x ", shape_str(x.shape),
                " on its channel axis, got ", shape_str(p.shape));
}

inline void require_epsilon(const char* op, double eps) {
  if (!(eps >= 0.0)) value_error(op, ": epsilon must be >= 0, got ", eps);
}

// Training forward: gamma, beta.
inline ChannelLayout batch_norm_forward(const char* op, const ArrayDesc& x, const ArrayDesc& gamma,
                                        const ArrayDesc& beta, int64_t axis, double eps) {
  const ChannelLayout l = channel_layout(op, x, axis);
  require_channel(op, "gamma", gamma, l, x);
  require_channel(op, "beta", beta, l, x);
  require_epsilon(op, eps);
  return l;
}

inline ChannelLayout batch_norm_inference(const char* op, const ArrayDesc& x, const ArrayDesc& gamma,
                                          const ArrayDesc& beta, const ArrayDesc& mean, const ArrayDesc& var,
                                          int64_t axis, double eps) {
  const ChannelLayout l = batch_norm_forward(op, x, gamma, beta, axis, eps);
  require_channel(op, "mean", mean, l, x);
  require_channel(op, "variance", var, l, x);
  return l;
}

inline ChannelLayout batch_norm_backward(const char* op, const ArrayDesc& dy, const ArrayDesc& x,
                                         const ArrayDesc& gamma, const ArrayDesc& mean, const ArrayDesc& var,
                                         int64_t axis, double eps) {
  require(dy, op, "dy", DType::F32, -1);
  const ChannelLayout l = channel_layout(op, x, axis);
  if (dy.shape != x.shape) value_error(op, ": dy must have the shape of x ", shape_str(x.shape), ", got ", shape_str(dy.shape));
  require_channel(op, "gamma", gamma, l, x);
  require_channel(op, "mean", mean, l, x);
  require_channel(op, "variance", var, l, x);
  require_epsilon(op, eps);
  return l;
}

}  // namespace forgenet::contract

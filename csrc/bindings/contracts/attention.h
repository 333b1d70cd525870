// Contract of attention / attention_backward (both devices): q (B,H,Nq,d), k (B,H,Nk,d), v (B,H,Nk,dv)
// -> o (B,H,Nq,dv), lse (B,H,Nq).
#pragma once

#include <cmath>

#include "bindings/contracts/array.h"
#include "common/shapes.h"

namespace forgenet::contract {

// scale: has_scale false means 1/sqrt(d).
inline AttnShape attention_forward(const char* op, const ArrayDesc& q, const ArrayDesc& k, const ArrayDesc& v,
                                   bool causal, bool has_scale, double scale) {
  require(q, op, "q", DType::F32, 4);
  require(k, op, "k", DType::F32, 4);
  require(v, op, "v", DType::F32, 4);
  if (q.dim(0) != k.dim(0) || q.dim(1) != k.dim(1) || q.dim(0) != v.dim(0) || q.dim(1) != v.dim(1))
    value_error(op, ": q, k and v must share batch and head sizes (axes 0, 1), got q ", shape_str(q.shape), ", k ",
                shape_str(k.shape), ", v ", shape_str(v.shape));
  if (k.dim(2) != v.dim(2))
    value_error(op, ": k and v must have the same length (axis 2), got k ", shape_str(k.shape), " and v ",
                shape_str(v.shape));
  if (q.dim(3) != k.dim(3))
    value_error(op, ": q and k must have the same head dim (axis 3), got q ", shape_str(q.shape), " and k ",
                shape_str(k.shape));
  if (q.dim(3) < 1) value_error(op, ": the head dim of q and k must be >= 1, got q ", shape_str(q.shape));
  AttnShape s;
  s.bh = checked_mul(op, "batch * heads", q.dim(0), q.dim(1));
  s.nq = q.dim(2);
  s.nk = k.dim(2);
  s.d = q.dim(3);
  s.dv = v.dim(3);
  s.causal = causal;
  if (has_scale && !std::isfinite(scale)) value_error(op, ": scale must be finite, got ", scale);
  s.scale = static_cast<float>(has_scale ? scale : 1.0 / std::sqrt(static_cast<double>(s.d)));
  output_size(op, "the output o", {q.dim(0), q.dim(1), s.nq, s.dv});
  return s;
}

inline Shape attention_o_shape(const ArrayDesc& q, const AttnShape& s) { return {q.dim(0), q.dim(1), s.nq, s.dv}; }
inline Shape attention_lse_shape(const ArrayDesc& q, const AttnShape& s) { return {q.dim(0), q.dim(1), s.nq}; }

inline AttnShape attention_backward(const char* op, const ArrayDesc& dout, const ArrayDesc& q, const ArrayDesc& k,
                                    const ArrayDesc& v, const ArrayDesc& o, const ArrayDesc& lse, bool causal,
                                    bool has_scale, double scale) {
  const AttnShape s = attention_forward(op, q, k, v, causal, has_scale, scale);
  require(dout, op, "do", DType::F32, 4);
  require(o, op, "o", DType::F32, 4);
  require(lse, op, "lse", DType::F32, 3);
  require_shape(o, op, "o", attention_o_shape(q, s));
  require_shape(dout, op, "do", attention_o_shape(q, s));
  require_shape(lse, op, "lse", attention_lse_shape(q, s));
  return s;
}

}  // namespace forgenet::contract

// Contract of depthwise_conv2d / depthwise_conv2d_backward (both devices): x (N, H, W, C), kernel
// (KH, KW, C, M), bias (C*M,) or absent, y (N, Ho, Wo, C*M). The geometry is window.h's sliding-window rule
// on the dilated window (common/depthwise_geom.h).
#pragma once

#include "bindings/contracts/window.h"
#include "common/depthwise_geom.h"

namespace forgenet::contract {

struct DepthwiseArgs {
  Pair strides, dilation;
  bool same;
};

// g: what the kernels get (N = 0 for an empty x: nothing to loop over, dkernel and dbias all zeros); out: y's shape.
struct DepthwisePlan {
  DepthwiseGeom g;
  Shape out;
};

inline DepthwisePlan depthwise_geometry(const char* op, const ArrayDesc& x, const ArrayDesc& k, const DepthwiseArgs& a) {
  require(x, op, "x", DType::F32, 4);
  require(k, op, "kernel", DType::F32, 4);
  check_positive(a.strides, op, "strides");
  check_positive(a.dilation, op, "dilation_rate");
  const Pair s = a.strides, d = a.dilation;
  if ((s.h > 1 && d.h > 1) || (s.w > 1 && d.w > 1))
    value_error(op, ": strides > 1 with dilation_rate > 1 on the same axis is not supported (as Keras), got strides (",
                s.h, ", ", s.w, ") and dilation_rate (", d.h, ", ", d.w, ")");
  const int64_t kh = k.dim(0), kw = k.dim(1), m = k.dim(3);
  if (kh < 1 || kw < 1) value_error(op, ": kernel must be at least 1x1, got shape ", shape_str(k.shape));
  if (m < 1) value_error(op, ": kernel's depth multiplier (last axis) must be >= 1, got shape ", shape_str(k.shape));
  if (x.dim(3) != k.dim(2)) value_error(op, ": x has ", x.dim(3), " channels but kernel ", shape_str(k.shape), " expects ", k.dim(2));
  const Pair eff{checked_add(op, "the dilated kernel", checked_mul(op, "the dilated kernel", kh - 1, d.h), 1),
                 checked_add(op, "the dilated kernel", checked_mul(op, "the dilated kernel", kw - 1, d.w), 1)};
  const Window2d win = window_geometry(op, x, {eff, s, a.same}, "dilated kernel");
  const int64_t cm = checked_mul(op, "the output channels C*M", x.dim(3), m);
  Shape out = out_shape(win, cm);
  output_size(op, "the output y", out);
  DepthwisePlan p{depthwise_geom(win, m, kh, kw, d.h, d.w), std::move(out)};
  if (x.size() == 0) p.g.n = 0;
  return p;
}

inline DepthwisePlan depthwise_forward(const char* op, const ArrayDesc& x, const ArrayDesc& k, const ArrayDesc* bias,
                                       const DepthwiseArgs& a) {
  DepthwisePlan p = depthwise_geometry(op, x, k, a);
  if (bias) {
    require(*bias, op, "bias", DType::F32, 1);
    if (bias->dim(0) != p.out[3]) value_error(op, ": bias must have shape (", p.out[3], ",), got ", shape_str(bias->shape));
  }
  return p;
}

inline DepthwisePlan depthwise_backward(const char* op, const ArrayDesc& dy, const ArrayDesc& x, const ArrayDesc& k,
                                        const DepthwiseArgs& a) {
  require(dy, op, "dy", DType::F32, 4);
  DepthwisePlan p = depthwise_geometry(op, x, k, a);
  require_dy(op, dy, p.out);
  return p;
}

}  // namespace forgenet::contract

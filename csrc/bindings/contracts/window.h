// Contract of the sliding-window family (conv2d, max/avg pooling), forward and backward, for both
// devices. The geometry rule itself is common/window2d.h; here are the argument rules and the sizes
// checked against int64 before anything is allocated.
#pragma once

#include "bindings/contracts/array.h"
#include "common/window2d.h"

namespace forgenet::contract {

struct Pair {
  int64_t h, w;
};

// The parsed window arguments: size (pool_size, or the kernel's spatial size), strides, padding.
struct WindowArgs {
  Pair size, strides;
  bool same;
};

inline void check_positive(const Pair& p, const char* op, const char* name) {
  if (p.h <= 0 || p.w <= 0) value_error(op, ": ", name, " must be positive, got (", p.h, ", ", p.w, ")");
}

inline Shape out_shape(const Window2d& g, int64_t channels) { return {g.n, g.ho, g.wo, channels}; }

// x (N, H, W, C) with a window `a` -> the geometry; `what` names the window in messages.
inline Window2d window_geometry(const char* op, const ArrayDesc& x, const WindowArgs& a, const char* what) {
  check_positive(a.strides, op, "strides");
  const int64_t h = x.dim(1), w = x.dim(2);
  if (!a.same && (a.size.h > h || a.size.w > w))
    value_error(op, ": ", what, " (", a.size.h, ", ", a.size.w, ") larger than input (", h, ", ", w,
                ") with padding='valid'");
  return make_window2d(x.dim(0), h, w, x.dim(3), a.size.h, a.size.w, a.strides.h, a.strides.w, a.same);
}

// dy must be the forward output's shape.
inline void require_dy(const char* op, const ArrayDesc& dy, const Shape& out) {
  if (dy.shape != out) value_error(op, ": dy must have the forward output's shape ", shape_str(out), ", got ", shape_str(dy.shape));
}

// Pooling: x (N,H,W,C) -> y (N,Ho,Wo,C).
inline Window2d pool_forward(const char* op, const ArrayDesc& x, const WindowArgs& a) {
  require(x, op, "x", DType::F32, 4);
  check_positive(a.size, op, "pool_size");
  const Window2d g = window_geometry(op, x, a, "pool_size");
  output_size(op, "the output y", out_shape(g, g.c));
  return g;
}

inline Window2d pool_backward(const char* op, const ArrayDesc& dy, const ArrayDesc& x, const WindowArgs& a) {
  require(dy, op, "dy", DType::F32, 4);
  const Window2d g = pool_forward(op, x, a);
  require_dy(op, dy, out_shape(g, g.c));
  return g;
}

// conv2d: x (N,H,W,Cin), kernel (KH,KW,Cin,Cout), bias (Cout,) or absent -> y (N,Ho,Wo,Cout).
struct ConvPlan {
  Window2d g;
  int64_t cout;
};

inline ConvPlan conv_geometry(const char* op, const ArrayDesc& x, const ArrayDesc& k, Pair strides, bool same) {
  require(x, op, "x", DType::F32, 4);
  require(k, op, "kernel", DType::F32, 4);
  const int64_t kh = k.dim(0), kw = k.dim(1);
  if (kh < 1 || kw < 1) value_error(op, ": kernel must be at least 1x1, got shape ", shape_str(k.shape));
  if (x.dim(3) != k.dim(2))
    value_error(op, ": x has ", x.dim(3), " channels but kernel ", shape_str(k.shape), " expects ", k.dim(2));
  const Window2d g = window_geometry(op, x, {{kh, kw}, strides, same}, "kernel");
  output_size(op, "the output y", out_shape(g, k.dim(3)));
  // one im2col line: Wo patches of KH * KW * Cin values plus a bias column
  checked_product(op, "an im2col line (Wo * (KH * KW * Cin + 1) floats)",
                  {g.wo, checked_add(op, "the patch size", checked_product(op, "the patch size", {kh, kw, x.dim(3)}), 1), 4});
  return {g, k.dim(3)};
}

inline ConvPlan conv_forward(const char* op, const ArrayDesc& x, const ArrayDesc& k, const ArrayDesc* bias,
                             Pair strides, bool same) {
  const ConvPlan p = conv_geometry(op, x, k, strides, same);
  if (bias) {
    require(*bias, op, "bias", DType::F32, 1);
    if (bias->dim(0) != p.cout) value_error(op, ": bias must have shape (", p.cout, ",), got ", shape_str(bias->shape));
  }
  return p;
}

inline ConvPlan conv_backward(const char* op, const ArrayDesc& dy, const ArrayDesc& x, const ArrayDesc& k,
                              Pair strides, bool same) {
  require(dy, op, "dy", DType::F32, 4);
  const ConvPlan p = conv_geometry(op, x, k, strides, same);
  require_dy(op, dy, out_shape(p.g, p.cout));
  return p;
}

}  // namespace forgenet::contract

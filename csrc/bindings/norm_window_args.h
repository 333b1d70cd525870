// Shape checks shared by the CPU and CUDA bindings of batch_norm and depthwise_conv2d, on plain shape
// vectors, so both devices accept the same arguments and say the same thing about bad ones.
#pragma once

#include <cstdint>
#include <vector>

#include "bindings/window_args.h"
#include "common/depthwise_geom.h"

namespace forgenet::bind {

using Dims = std::vector<int64_t>;

inline std::string dims_str(const Dims& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// x viewed as (outer, C, inner) around `axis` (negative counts from the end).
struct ChannelLayout {
  int64_t outer, c, inner;
};

inline ChannelLayout channel_layout(const char* op, const Dims& x, int64_t axis) {
  const int64_t rank = static_cast<int64_t>(x.size());
  if (rank < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  if (axis < -rank || axis >= rank)
    value_error(op, ": axis ", axis, " is out of range for x of shape ", dims_str(x));
  const int64_t a = axis < 0 ? axis + rank : axis;
  ChannelLayout l{1, x[static_cast<size_t>(a)], 1};
  for (int64_t i = 0; i < a; ++i) l.outer *= x[static_cast<size_t>(i)];
  for (int64_t i = a + 1; i < rank; ++i) l.inner *= x[static_cast<size_t>(i)];
  return l;
}

// A per-channel vector (gamma, beta, mean, variance) must be (C,).
inline void check_channel_vector(const char* op, const char* name, const Dims& p, int64_t c, const Dims& x) {
  if (p.size() != 1 || p[0] != c)
    value_error(op, ": ", name, " must have shape (", c, ",) to match x ", dims_str(x), " on its channel axis, got ",
                dims_str(p));
}

inline void check_epsilon(const char* op, double eps) {
  if (!(eps >= 0.0)) value_error(op, ": epsilon must be >= 0, got ", eps);
}

// x (N,H,W,C) against kernel (KH,KW,C,M).
inline DepthwiseGeom depthwise_geometry(const char* op, const Dims& x, const Dims& k, const py::handle& strides_in,
                                        const py::handle& padding_in, const py::handle& dilation_in) {
  const Pair s = pair_arg(strides_in, op, "strides");
  const Pair d = pair_arg(dilation_in, op, "dilation_rate");
  const bool same = padding_arg(padding_in, op);
  if ((s.h > 1 && d.h > 1) || (s.w > 1 && d.w > 1))
    value_error(op, ": strides > 1 with dilation_rate > 1 on the same axis is not supported (as Keras), got strides (",
                s.h, ", ", s.w, ") and dilation_rate (", d.h, ", ", d.w, ")");
  if (k[0] < 1 || k[1] < 1) value_error(op, ": kernel must be at least 1x1, got shape ", dims_str(k));
  if (k[3] < 1) value_error(op, ": kernel's depth multiplier (last axis) must be >= 1, got shape ", dims_str(k));
  if (x[3] != k[2])
    value_error(op, ": x has ", x[3], " channels but kernel ", dims_str(k), " expects ", k[2]);
  const int64_t eh = (k[0] - 1) * d.h + 1, ew = (k[1] - 1) * d.w + 1;
  if (!same && (eh > x[1] || ew > x[2]))
    value_error(op, ": dilated kernel (", eh, ", ", ew, ") larger than input (", x[1], ", ", x[2],
                ") with padding='valid'");
  return make_depthwise_geom(x[0], x[1], x[2], x[3], k[3], k[0], k[1], s.h, s.w, d.h, d.w, same);
}

inline Dims depthwise_out(const DepthwiseGeom& g) { return {g.n, g.ho, g.wo, g.c * g.m}; }

}  // namespace forgenet::bind

// The Python-side window arguments of depthwise_conv2d (strides, padding, dilation_rate), parsed once for both
// modules' bindings; their rules are contracts/depthwise.h's.
#pragma once

#include "bindings/contracts/depthwise.h"
#include "bindings/window_args.h"

namespace forgenet::bind {

inline contract::DepthwiseArgs depthwise_args(const py::handle& strides, const py::handle& padding,
                                              const py::handle& dilation, const char* op) {
  const Pair s = pair_arg(strides, op, "strides");
  const Pair d = pair_arg(dilation, op, "dilation_rate");
  return {s, d, padding_arg(padding, op)};
}

}  // namespace forgenet::bind

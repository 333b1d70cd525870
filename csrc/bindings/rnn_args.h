// The activation argument of the fused SimpleRNN, parsed once for both devices' bindings.
#pragma once
#include <string>

#include "bindings/checks.h"
#include "cpu/simple_rnn.h"

namespace forgenet::bind {

inline RnnActivation rnn_activation_arg(const py::handle& v, const char* op) {
  if (!py::isinstance<py::str>(v)) type_error(op, ": activation must be a str, got ", type_name(v));
  const std::string name = v.cast<std::string>();
  if (name == "tanh") return RnnActivation::tanh;
  if (name == "relu") return RnnActivation::relu;
  if (name == "linear") return RnnActivation::linear;
  if (name == "sigmoid") return RnnActivation::sigmoid;
  value_error(op, ": activation must be 'tanh', 'relu', 'sigmoid' or 'linear', got ", std::string(py::repr(v)));
}

}  // namespace forgenet::bind

// What the recurrent bindings share: the five arrays GRU and SimpleRNN forward and backward take, and
// the activation argument of the fused SimpleRNN, parsed once for both devices' bindings.
#pragma once
#include <initializer_list>
#include <string>
#include <utility>

#include "bindings/checks.h"
#include "cpu/simple_rnn.h"

namespace forgenet::bind {

// x, h0, kernel, recurrent_kernel, bias, checked as one op's arguments; Desc is the contract's view.
template <typename Desc>
struct RecurrentInputs {
  Arg x, h0, kernel, rk, bias;
  RecurrentInputs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
                  const py::handle& rk_in, const py::handle& bias_in)
      : x(x_in, op, "x"), h0(h0_in, op, "h0"), kernel(kernel_in, op, "kernel"), rk(rk_in, op, "recurrent_kernel"),
        bias(bias_in, op, "bias") {}
  Desc desc() const { return {&x.d, &h0.d, &kernel.d, &rk.d, &bias.d}; }
  Inputs inputs(std::initializer_list<std::pair<const char*, const ArrayDesc*>> more = {}) const {
    Inputs in{{"x", &x.d}, {"h0", &h0.d}, {"kernel", &kernel.d}, {"recurrent_kernel", &rk.d}, {"bias", &bias.d}};
    for (const auto& [n, a] : more) in.names.push_back(n), in.d.push_back(a);
    return in;
  }
};

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

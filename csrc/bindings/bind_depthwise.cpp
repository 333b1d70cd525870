// Depthwise 2-D convolution on numpy arrays: the contract (contracts/depthwise.h) checks, this file allocates
// and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/depthwise_args.h"
#include "cpu/depthwise_conv2d.h"

namespace forgenet::bind {

namespace {

py::array_t<float> depthwise_conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                                    const py::handle& strides, const py::handle& padding, const py::handle& dilation,
                                    const py::handle& out) {
  const char* op = "depthwise_conv2d";
  const Arg x(x_in, op, "x"), k(k_in, op, "kernel");
  const OptArg bias(bias_in, op, "bias");
  const auto p = contract::depthwise_forward(op, x.d, k.d, bias.d(), depthwise_args(strides, padding, dilation, op));
  auto y = output(op, "y", p.out, out, 0, 1, {{"x", &x.d}, {"kernel", &k.d}, {"bias", bias.d()}});
  run(op, [&] { depthwise_conv2d_forward(p.g, x.f(), k.f(), bias.f(), fptr_mut(y)); });
  return y;
}

// Returns (dx or None, dkernel, dbias).
py::tuple depthwise_conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                                    const py::handle& strides, const py::handle& padding, const py::handle& dilation,
                                    bool need_dx, const py::handle& out) {
  const char* op = "depthwise_conv2d_backward";
  const Arg dy(dy_in, op, "dy"), x(x_in, op, "x"), k(k_in, op, "kernel");
  const auto p = contract::depthwise_backward(op, dy.d, x.d, k.d, depthwise_args(strides, padding, dilation, op));
  const Inputs in{{"dy", &dy.d}, {"x", &x.d}, {"kernel", &k.d}};
  py::object dx = py::none();
  float* dx_ptr = nullptr;
  if (need_dx) {
    auto a = output(op, "dx", x.d.shape, out, 0, 3, in);
    dx_ptr = fptr_mut(a);
    dx = a;
  } else if (!out_arg(out, 0, 3, op).is_none()) {
    value_error(op, ": out[0] (dx) must be None when need_dx=False");
  }
  auto dk = output(op, "dkernel", k.d.shape, out, 1, 3, in);
  auto db = output(op, "dbias", {p.out[3]}, out, 2, 3, in);
  run(op, [&] { forgenet::depthwise_conv2d_backward(p.g, dy.f(), x.f(), k.f(), dx_ptr, fptr_mut(dk), fptr_mut(db)); });
  return py::make_tuple(dx, dk, db);
}

}  // namespace

void bind_depthwise(py::module_& m) {
  m.def("depthwise_conv2d", &depthwise_conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1), py::arg("out") = py::none());
  m.def("depthwise_conv2d_backward", &depthwise_conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1), py::arg("need_dx") = true, py::arg("out") = py::none());
}

}  // namespace forgenet::bind

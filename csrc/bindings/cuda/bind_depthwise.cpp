// Depthwise 2-D convolution on CUDA arrays: the contract (contracts/depthwise.h) checks, this file allocates
// and launches.
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/depthwise_args.h"
#include "cuda/depthwise_conv2d.h"

namespace forgenet::bind::cuda {

namespace {

py::object depthwise_conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                            const py::handle& strides, const py::handle& padding, const py::handle& dilation,
                            uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "depthwise_conv2d";
  const DeviceArray x = device_array(x_in, op, "x"), k = device_array(k_in, op, "kernel");
  const bool has_bias = !bias_in.is_none();
  const DeviceArray bias = has_bias ? device_array(bias_in, op, "bias") : DeviceArray{};
  const auto p = contract::depthwise_forward(op, x.d, k.d, has_bias ? &bias.d : nullptr,
                                             depthwise_args(strides, padding, dilation, op));
  const std::vector<std::pair<const char*, const DeviceArray*>> in{
      {"x", &x}, {"kernel", &k}, {"bias", has_bias ? &bias : nullptr}};
  require_same_device(op, in);
  const DeviceArray y = output(alloc, p.out, op, "y", out, 0, 1, in);
  launch(op, stream, [&] {
    return gpu::depthwise_conv2d_forward(p.g, x.f(), k.f(), has_bias ? bias.f() : nullptr, y.fm(), as_stream(stream));
  });
  return y.owner;
}

py::tuple depthwise_conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                                    const py::handle& strides, const py::handle& padding, const py::handle& dilation,
                                    bool need_dx, uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "depthwise_conv2d_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy"), x = device_array(x_in, op, "x"), k = device_array(k_in, op, "kernel");
  const auto p = contract::depthwise_backward(op, dy.d, x.d, k.d, depthwise_args(strides, padding, dilation, op));
  const std::vector<std::pair<const char*, const DeviceArray*>> in{{"dy", &dy}, {"x", &x}, {"kernel", &k}};
  require_same_device(op, in);
  if (!need_dx && !out_arg(out, 0, 3, op).is_none()) value_error(op, ": out[0] (dx) must be None when need_dx=False");
  const DeviceArray dx = need_dx ? output(alloc, x.shape, op, "dx", out, 0, 3, in) : DeviceArray{};
  const DeviceArray dk = output(alloc, k.shape, op, "dkernel", out, 1, 3, in);
  const DeviceArray db = output(alloc, {p.out[3]}, op, "dbias", out, 2, 3, in);
  launch(op, stream, [&] {
    return gpu::depthwise_conv2d_backward(p.g, dy.f(), x.f(), k.f(), need_dx ? dx.fm() : nullptr, dk.fm(), db.fm(),
                                          as_stream(stream));
  });
  return py::make_tuple(need_dx ? dx.owner : py::object(py::none()), dk.owner, db.owner);
}

}  // namespace

void bind_depthwise(py::module_& m) {
  m.def("depthwise_conv2d", &depthwise_conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
  m.def("depthwise_conv2d_backward", &depthwise_conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1), py::arg("need_dx") = true, py::arg("stream"),
        py::arg("alloc"), py::arg("out") = py::none());
}

}  // namespace forgenet::bind::cuda

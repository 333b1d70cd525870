// conv2d on CUDA arrays: the contract (contracts/window.h) checks, this file allocates and launches.
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/window_args.h"
#include "cuda/conv2d.h"

namespace forgenet::bind::cuda {

namespace {

py::object conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                  const py::handle& strides, const py::handle& padding, uintptr_t stream, const py::handle& alloc,
                  const py::handle& out) {
  const char* op = "conv2d";
  const DeviceArray x = device_array(x_in, op, "x"), k = device_array(k_in, op, "kernel");
  DeviceArray bias;
  if (!bias_in.is_none()) bias = device_array(bias_in, op, "bias");
  const auto p = contract::conv_forward(op, x.d, k.d, bias_in.is_none() ? nullptr : &bias.d,
                                        pair_arg(strides, op, "strides"), padding_arg(padding, op));
  require_same_device(op, {{"x", &x}, {"kernel", &k}, {"bias", bias_in.is_none() ? nullptr : &bias}});
  const DeviceArray y = output(alloc, contract::out_shape(p.g, p.cout), op, "y", out, 0, 1,
                               {{"x", &x}, {"kernel", &k}, {"bias", bias_in.is_none() ? nullptr : &bias}});
  const int64_t ws_n = gpu::conv2d_forward_workspace_floats(p.g, p.cout);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  launch(op, stream, [&] {
    return gpu::conv2d_forward(p.g, p.cout, x.f(), k.f(), bias_in.is_none() ? nullptr : bias.f(), y.fm(), ws.fm(), ws_n,
                               as_stream(stream));
  });
  return y.owner;
}

py::tuple conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                          const py::handle& strides, const py::handle& padding, uintptr_t stream,
                          const py::handle& alloc, bool need_dx, bool need_db, const py::handle& out) {
  const char* op = "conv2d_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy"), x = device_array(x_in, op, "x"), k = device_array(k_in, op, "kernel");
  const auto p = contract::conv_backward(op, dy.d, x.d, k.d, pair_arg(strides, op, "strides"), padding_arg(padding, op));
  require_same_device(op, {{"dy", &dy}, {"x", &x}, {"kernel", &k}});
  const std::vector<std::pair<const char*, const DeviceArray*>> in{{"dy", &dy}, {"x", &x}, {"kernel", &k}};
  if (!need_dx && !out_arg(out, 0, 3, op).is_none()) value_error(op, ": out[0] (dx) must be None when need_dx=False");
  if (!need_db && !out_arg(out, 2, 3, op).is_none())
    value_error(op, ": out[2] (dbias) must be None when need_db=False");
  const DeviceArray dx = need_dx ? output(alloc, x.shape, op, "dx", out, 0, 3, in) : DeviceArray{};
  const DeviceArray dk = output(alloc, k.shape, op, "dkernel", out, 1, 3, in);
  const DeviceArray db = need_db ? output(alloc, {p.cout}, op, "dbias", out, 2, 3, in) : DeviceArray{};
  const int64_t ws_n = gpu::conv2d_backward_workspace_floats(p.g, p.cout, need_dx);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  launch(op, stream, [&] {
    return gpu::conv2d_backward(p.g, p.cout, dy.f(), x.f(), k.f(), need_dx ? dx.fm() : nullptr, dk.fm(),
                                need_db ? db.fm() : nullptr, ws.fm(), ws_n, as_stream(stream));
  });
  // need_dx=False: no dx is allocated or computed (a first layer); need_db=False: no dbias (no bias)
  return py::make_tuple(need_dx ? dx.owner : py::object(py::none()), dk.owner,
                        need_db ? db.owner : py::object(py::none()));
}

}  // namespace

void bind_conv2d(py::module_& m) {
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid", py::arg("stream"), py::arg("alloc"),
        py::arg("out") = py::none());
  m.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid", py::arg("stream"), py::arg("alloc"),
        py::arg("need_dx") = true, py::arg("need_db") = true, py::arg("out") = py::none());
}

}  // namespace forgenet::bind::cuda

#include "bindings/cuda/args.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/conv2d.h"

namespace forgenet::bind::cuda {

namespace {

// Checks x (N,H,W,Cin) against kernel (KH,KW,Cin,Cout) and returns the geometry (as forgenet._C).
gpu::Window conv_geometry(const char* op, const DeviceArray& x, const DeviceArray& k, const py::handle& strides_in,
                          const py::handle& padding_in) {
  const Pair s = pair_arg(strides_in, op, "strides");
  const bool same = padding_arg(padding_in, op);
  const int64_t h = x.dim(1), w = x.dim(2), kh = k.dim(0), kw = k.dim(1);
  if (kh < 1 || kw < 1) value_error(op, ": kernel must be at least 1x1, got shape ", shape_str(k.shape));
  if (x.dim(3) != k.dim(2))
    value_error(op, ": x has ", x.dim(3), " channels but kernel ", shape_str(k.shape), " expects ", k.dim(2));
  if (!same && (kh > h || kw > w))
    value_error(op, ": kernel (", kh, ", ", kw, ") larger than input (", h, ", ", w, ") with padding='valid'");
  return gpu::make_window(x.dim(0), h, w, x.dim(3), kh, kw, s.first, s.second, same);
}

py::object conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                  const py::handle& strides, const py::handle& padding, uintptr_t stream, const py::handle& alloc) {
  const char* op = "conv2d";
  const DeviceArray x = device_array(x_in, op, "x", 4), k = device_array(k_in, op, "kernel", 4);
  const gpu::Window g = conv_geometry(op, x, k, strides, padding);
  const int64_t cout = k.dim(3);
  DeviceArray bias;
  if (!bias_in.is_none()) {
    bias = device_array(bias_in, op, "bias", 1);
    if (bias.dim(0) != cout) value_error(op, ": bias must have shape (", cout, ",), got ", shape_str(bias.shape));
  }
  require_same_device(op, {{"x", &x}, {"kernel", &k}, {"bias", bias_in.is_none() ? nullptr : &bias}});
  const DeviceArray y = allocate(alloc, {g.n, g.ho, g.wo, cout}, op, "y");
  const int64_t ws_n = gpu::conv2d_forward_workspace_floats(g, cout);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::conv2d_forward(g, cout, x.f(), k.f(), bias_in.is_none() ? nullptr : bias.f(), y.fm(), ws.fm(), ws_n,
                              as_stream(stream));
  }
  check_cuda(err, op);
  return y.owner;
}

py::tuple conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                          const py::handle& strides, const py::handle& padding, uintptr_t stream,
                          const py::handle& alloc, bool need_dx) {
  const char* op = "conv2d_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy", 4), x = device_array(x_in, op, "x", 4),
                    k = device_array(k_in, op, "kernel", 4);
  const gpu::Window g = conv_geometry(op, x, k, strides, padding);
  const int64_t cout = k.dim(3);
  if (dy.dim(0) != g.n || dy.dim(1) != g.ho || dy.dim(2) != g.wo || dy.dim(3) != cout)
    value_error(op, ": dy must have the forward output's shape (", g.n, ", ", g.ho, ", ", g.wo, ", ", cout,
                "), got ", shape_str(dy.shape));
  require_same_device(op, {{"dy", &dy}, {"x", &x}, {"kernel", &k}});
  const DeviceArray dx = need_dx ? allocate(alloc, x.shape, op, "dx") : DeviceArray{};
  const DeviceArray dk = allocate(alloc, k.shape, op, "dkernel");
  const DeviceArray db = allocate(alloc, {cout}, op, "dbias");
  const int64_t ws_n = gpu::conv2d_backward_workspace_floats(g, cout, need_dx);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::conv2d_backward(g, cout, dy.f(), x.f(), k.f(), need_dx ? dx.fm() : nullptr, dk.fm(), db.fm(),
                               ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  // need_dx=False: no dx is allocated or computed (a first layer)
  return py::make_tuple(need_dx ? dx.owner : py::object(py::none()), dk.owner, db.owner);
}

}  // namespace

void bind_conv2d(py::module_& m) {
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid", py::arg("stream"), py::arg("alloc"));
  m.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid", py::arg("stream"), py::arg("alloc"),
        py::arg("need_dx") = true);
}

}  // namespace forgenet::bind::cuda

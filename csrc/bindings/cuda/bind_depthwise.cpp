#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/norm_window_args.h"
#include "cuda/depthwise_conv2d.h"

namespace forgenet::bind::cuda {

namespace {

py::object depthwise_conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                            const py::handle& strides, const py::handle& padding, const py::handle& dilation,
                            uintptr_t stream, const py::handle& alloc) {
  const char* op = "depthwise_conv2d";
  const DeviceArray x = device_array(x_in, op, "x", 4), k = device_array(k_in, op, "kernel", 4);
  const DepthwiseGeom g = depthwise_geometry(op, x.shape, k.shape, strides, padding, dilation);
  DeviceArray bias;
  if (!bias_in.is_none()) {
    bias = device_array(bias_in, op, "bias", 1);
    if (bias.dim(0) != g.c * g.m)
      value_error(op, ": bias must have shape (", g.c * g.m, ",), got ", shape_str(bias.shape));
  }
  require_same_device(op, {{"x", &x}, {"kernel", &k}, {"bias", bias_in.is_none() ? nullptr : &bias}});
  const DeviceArray y = allocate(alloc, depthwise_out(g), op, "y");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::depthwise_conv2d_forward(g, x.f(), k.f(), bias_in.is_none() ? nullptr : bias.f(), y.fm(),
                                        as_stream(stream));
  }
  check_cuda(err, op);
  return y.owner;
}

py::tuple depthwise_conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                                    const py::handle& strides, const py::handle& padding, const py::handle& dilation,
                                    bool need_dx, uintptr_t stream, const py::handle& alloc) {
  const char* op = "depthwise_conv2d_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy", 4), x = device_array(x_in, op, "x", 4),
                    k = device_array(k_in, op, "kernel", 4);
  const DepthwiseGeom g = depthwise_geometry(op, x.shape, k.shape, strides, padding, dilation);
  if (dy.shape != depthwise_out(g))
    value_error(op, ": dy must have the forward output's shape ", dims_str(depthwise_out(g)), ", got ",
                shape_str(dy.shape));
  require_same_device(op, {{"dy", &dy}, {"x", &x}, {"kernel", &k}});
  const DeviceArray dx = need_dx ? allocate(alloc, x.shape, op, "dx") : DeviceArray{};
  const DeviceArray dk = allocate(alloc, k.shape, op, "dkernel");
  const DeviceArray db = allocate(alloc, {g.c * g.m}, op, "dbias");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::depthwise_conv2d_backward(g, dy.f(), x.f(), k.f(), need_dx ? dx.fm() : nullptr, dk.fm(), db.fm(),
                                         as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(need_dx ? dx.owner : py::object(py::none()), dk.owner, db.owner);
}

}  // namespace

void bind_depthwise(py::module_& m) {
  m.def("depthwise_conv2d", &depthwise_conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1), py::arg("stream"), py::arg("alloc"));
  m.def("depthwise_conv2d_backward", &depthwise_conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1), py::arg("need_dx") = true, py::arg("stream"),
        py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

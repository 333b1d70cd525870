#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/norm_window_args.h"
#include "cuda/batchnorm.h"

namespace forgenet::bind::cuda {

namespace {

using forgenet::bind::ChannelLayout;

DeviceArray channel_vector(const py::handle& obj, const char* op, const char* name, const ChannelLayout& l,
                           const DeviceArray& x) {
  DeviceArray p = device_array(obj, op, name, -1);
  check_channel_vector(op, name, p.shape, l.c, x.shape);
  return p;
}

py::tuple batch_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, int64_t axis,
                     double eps, uintptr_t stream, const py::handle& alloc) {
  const char* op = "batch_norm";
  const DeviceArray x = device_array(x_in, op, "x", -1);
  const ChannelLayout l = channel_layout(op, x.shape, axis);
  const DeviceArray gamma = channel_vector(g_in, op, "gamma", l, x), beta = channel_vector(b_in, op, "beta", l, x);
  check_epsilon(op, eps);
  require_same_device(op, {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}});
  const DeviceArray y = allocate(alloc, x.shape, op, "y");
  const DeviceArray mean = allocate(alloc, {l.c}, op, "mean"), var = allocate(alloc, {l.c}, op, "variance");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::batch_norm_forward_train(x.f(), gamma.f(), beta.f(), y.fm(), mean.fm(), var.fm(), l.outer, l.c, l.inner,
                                        static_cast<float>(eps), as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(y.owner, mean.owner, var.owner);
}

py::object batch_norm_inference(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in,
                                const py::handle& m_in, const py::handle& v_in, int64_t axis, double eps,
                                uintptr_t stream, const py::handle& alloc) {
  const char* op = "batch_norm_inference";
  const DeviceArray x = device_array(x_in, op, "x", -1);
  const ChannelLayout l = channel_layout(op, x.shape, axis);
  const DeviceArray gamma = channel_vector(g_in, op, "gamma", l, x), beta = channel_vector(b_in, op, "beta", l, x);
  const DeviceArray mean = channel_vector(m_in, op, "mean", l, x), var = channel_vector(v_in, op, "variance", l, x);
  check_epsilon(op, eps);
  require_same_device(op, {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}, {"mean", &mean}, {"variance", &var}});
  const DeviceArray y = allocate(alloc, x.shape, op, "y");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::batch_norm_forward_infer(x.f(), gamma.f(), beta.f(), mean.f(), var.f(), y.fm(), l.outer, l.c, l.inner,
                                        static_cast<float>(eps), as_stream(stream));
  }
  check_cuda(err, op);
  return y.owner;
}

py::tuple batch_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& v_in, int64_t axis, double eps, bool training,
                              uintptr_t stream, const py::handle& alloc) {
  const char* op = "batch_norm_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy", -1), x = device_array(x_in, op, "x", -1);
  const ChannelLayout l = channel_layout(op, x.shape, axis);
  if (dy.shape != x.shape)
    value_error(op, ": dy must have the shape of x ", shape_str(x.shape), ", got ", shape_str(dy.shape));
  const DeviceArray gamma = channel_vector(g_in, op, "gamma", l, x);
  const DeviceArray mean = channel_vector(m_in, op, "mean", l, x), var = channel_vector(v_in, op, "variance", l, x);
  check_epsilon(op, eps);
  require_same_device(op, {{"dy", &dy}, {"x", &x}, {"gamma", &gamma}, {"mean", &mean}, {"variance", &var}});
  const DeviceArray dx = allocate(alloc, x.shape, op, "dx");
  const DeviceArray dgamma = allocate(alloc, {l.c}, op, "dgamma"), dbeta = allocate(alloc, {l.c}, op, "dbeta");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::batch_norm_backward(dy.f(), x.f(), gamma.f(), mean.f(), var.f(), dx.fm(), dgamma.fm(), dbeta.fm(),
                                   l.outer, l.c, l.inner, static_cast<float>(eps), training, as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(dx.owner, dgamma.owner, dbeta.owner);
}

}  // namespace

void bind_batchnorm(py::module_& m) {
  m.def("batch_norm", &batch_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("axis") = -1,
        py::arg("epsilon") = 1e-3, py::kw_only(), py::arg("stream"), py::arg("alloc"));
  m.def("batch_norm_inference", &batch_norm_inference, py::arg("x"), py::arg("gamma"), py::arg("beta"),
        py::arg("mean"), py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3, py::kw_only(),
        py::arg("stream"), py::arg("alloc"));
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3, py::arg("training") = true,
        py::kw_only(), py::arg("stream"), py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

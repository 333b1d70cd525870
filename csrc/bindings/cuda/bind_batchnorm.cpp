// Batch normalisation on CUDA arrays: the contract (contracts/batchnorm.h) checks, this file allocates and
// launches.
#include "bindings/contracts/batchnorm.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/window_args.h"
#include "cuda/batchnorm.h"

namespace forgenet::bind::cuda {

namespace {

using Named = std::vector<std::pair<const char*, const DeviceArray*>>;

py::tuple batch_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, const py::handle& axis,
                     double eps, uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "batch_norm";
  const DeviceArray x = device_array(x_in, op, "x"), gamma = device_array(g_in, op, "gamma"),
                    beta = device_array(b_in, op, "beta");
  const auto l = contract::batch_norm_forward(op, x.d, gamma.d, beta.d, int_arg(axis, op, "axis"), eps);
  const Named in{{"x", &x}, {"gamma", &gamma}, {"beta", &beta}};
  require_same_device(op, in);
  const DeviceArray y = output(alloc, x.shape, op, "y", out, 0, 3, in);
  const DeviceArray mean = output(alloc, {l.c}, op, "mean", out, 1, 3, in),
                    var = output(alloc, {l.c}, op, "variance", out, 2, 3, in);
  launch(op, stream, [&] {
    return gpu::batch_norm_forward_train(x.f(), gamma.f(), beta.f(), y.fm(), mean.fm(), var.fm(), l.outer, l.c, l.inner,
                                         static_cast<float>(eps), as_stream(stream));
  });
  return py::make_tuple(y.owner, mean.owner, var.owner);
}

py::object batch_norm_inference(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in,
                                const py::handle& m_in, const py::handle& v_in, const py::handle& axis, double eps,
                                uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "batch_norm_inference";
  const DeviceArray x = device_array(x_in, op, "x"), gamma = device_array(g_in, op, "gamma"),
                    beta = device_array(b_in, op, "beta"), mean = device_array(m_in, op, "mean"),
                    var = device_array(v_in, op, "variance");
  const auto l = contract::batch_norm_inference(op, x.d, gamma.d, beta.d, mean.d, var.d, int_arg(axis, op, "axis"), eps);
  const Named in{{"x", &x}, {"gamma", &gamma}, {"beta", &beta}, {"mean", &mean}, {"variance", &var}};
  require_same_device(op, in);
  const DeviceArray y = output(alloc, x.shape, op, "y", out, 0, 1, in);
  launch(op, stream, [&] {
    return gpu::batch_norm_forward_infer(x.f(), gamma.f(), beta.f(), mean.f(), var.f(), y.fm(), l.outer, l.c, l.inner,
                                         static_cast<float>(eps), as_stream(stream));
  });
  return y.owner;
}

py::tuple batch_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& v_in, const py::handle& axis, double eps,
                              bool training, uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "batch_norm_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy"), x = device_array(x_in, op, "x"),
                    gamma = device_array(g_in, op, "gamma"), mean = device_array(m_in, op, "mean"),
                    var = device_array(v_in, op, "variance");
  const auto l = contract::batch_norm_backward(op, dy.d, x.d, gamma.d, mean.d, var.d, int_arg(axis, op, "axis"), eps);
  const Named in{{"dy", &dy}, {"x", &x}, {"gamma", &gamma}, {"mean", &mean}, {"variance", &var}};
  require_same_device(op, in);
  const DeviceArray dx = output(alloc, x.shape, op, "dx", out, 0, 3, in);
  const DeviceArray dgamma = output(alloc, {l.c}, op, "dgamma", out, 1, 3, in),
                    dbeta = output(alloc, {l.c}, op, "dbeta", out, 2, 3, in);
  launch(op, stream, [&] {
    return gpu::batch_norm_backward(dy.f(), x.f(), gamma.f(), mean.f(), var.f(), dx.fm(), dgamma.fm(), dbeta.fm(),
                                    l.outer, l.c, l.inner, static_cast<float>(eps), training, as_stream(stream));
  });
  return py::make_tuple(dx.owner, dgamma.owner, dbeta.owner);
}

}  // namespace

void bind_batchnorm(py::module_& m) {
  m.def("batch_norm", &batch_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("axis") = -1,
        py::arg("epsilon") = 1e-3, py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
  m.def("batch_norm_inference", &batch_norm_inference, py::arg("x"), py::arg("gamma"), py::arg("beta"),
        py::arg("mean"), py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3, py::kw_only(),
        py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3, py::arg("training") = true,
        py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
}

}  // namespace forgenet::bind::cuda

// Layer normalisation on CUDA arrays: the contract (contracts/layernorm.h) checks, this file allocates
// and launches. (The ops layer turns a None gamma/beta into ones/zeros.)
#include "bindings/contracts/layernorm.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/layernorm.h"

namespace forgenet::bind::cuda {

namespace {

// Returns (y, mean, rstd); mean and rstd have x's shape without its last axis.
py::tuple layer_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, double eps,
                     uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "layer_norm";
  const DeviceArray x = device_array(x_in, op, "x"), gamma = device_array(g_in, op, "gamma"),
                    beta = device_array(b_in, op, "beta");
  const auto r = contract::layer_norm_forward(op, x.d, gamma.d, beta.d, eps);
  require_same_device(op, {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}});
  const std::vector<std::pair<const char*, const DeviceArray*>> in{{"x", &x}, {"gamma", &gamma}, {"beta", &beta}};
  const DeviceArray y = output(alloc, x.shape, op, "y", out, 0, 3, in);
  const DeviceArray mean = output(alloc, contract::stat_shape(x.d), op, "mean", out, 1, 3, in);
  const DeviceArray rstd = output(alloc, contract::stat_shape(x.d), op, "rstd", out, 2, 3, in);
  launch(op, stream, [&] {
    return gpu::layer_norm_forward(x.f(), gamma.f(), beta.f(), y.fm(), mean.fm(), rstd.fm(), r.rows, r.cols,
                                   static_cast<float>(eps), as_stream(stream));
  });
  return py::make_tuple(y.owner, mean.owner, rstd.owner);
}

// Returns (dx, dgamma, dbeta).
py::tuple layer_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& r_in, uintptr_t stream,
                              const py::handle& alloc, const py::handle& out) {
  const char* op = "layer_norm_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy"), x = device_array(x_in, op, "x"),
                    gamma = device_array(g_in, op, "gamma"), mean = device_array(m_in, op, "mean"),
                    rstd = device_array(r_in, op, "rstd");
  const auto r = contract::layer_norm_backward(op, dy.d, x.d, gamma.d, mean.d, rstd.d);
  require_same_device(op, {{"dy", &dy}, {"x", &x}, {"gamma", &gamma}, {"mean", &mean}, {"rstd", &rstd}});
  const std::vector<std::pair<const char*, const DeviceArray*>> in{
      {"dy", &dy}, {"x", &x}, {"gamma", &gamma}, {"mean", &mean}, {"rstd", &rstd}};
  const DeviceArray dx = output(alloc, x.shape, op, "dx", out, 0, 3, in);
  const DeviceArray dgamma = output(alloc, {r.cols}, op, "dgamma", out, 1, 3, in),
                    dbeta = output(alloc, {r.cols}, op, "dbeta", out, 2, 3, in);
  const int64_t ws_n = gpu::layer_norm_backward_workspace_floats(r.rows, r.cols);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  launch(op, stream, [&] {
    return gpu::layer_norm_backward(dy.f(), x.f(), gamma.f(), mean.f(), rstd.f(), dx.fm(), dgamma.fm(), dbeta.fm(),
                                    r.rows, r.cols, ws.fm(), ws_n, as_stream(stream));
  });
  return py::make_tuple(dx.owner, dgamma.owner, dbeta.owner);
}

}  // namespace

void bind_layernorm(py::module_& m) {
  m.def("layer_norm", &layer_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3,
        py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("rstd"), py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
}

}  // namespace forgenet::bind::cuda

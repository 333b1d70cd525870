#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/layernorm.h"

namespace forgenet::bind::cuda {

namespace {

// gamma and beta must be (C,) for x (..., C). (The ops layer turns a None gamma/beta into ones/zeros.)
void check_affine(const char* op, const char* name, const DeviceArray& p, const DeviceArray& x) {
  const int64_t c = x.dim(x.ndim() - 1);
  if (p.dim(0) != c)
    value_error(op, ": ", name, " must have shape (", c, ",) to match x ", shape_str(x.shape), ", got ",
                shape_str(p.shape));
}

Shape stat_shape(const DeviceArray& x) { return Shape(x.shape.begin(), x.shape.end() - 1); }

// Returns (y, mean, rstd); mean and rstd have x's shape without its last axis.
py::tuple layer_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, double eps,
                     uintptr_t stream, const py::handle& alloc) {
  const char* op = "layer_norm";
  const DeviceArray x = device_array(x_in, op, "x", -1);
  if (x.ndim() < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  const DeviceArray gamma = device_array(g_in, op, "gamma", 1), beta = device_array(b_in, op, "beta", 1);
  check_affine(op, "gamma", gamma, x);
  check_affine(op, "beta", beta, x);
  if (!(eps >= 0.0)) value_error(op, ": epsilon must be >= 0, got ", eps);
  require_same_device(op, {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}});
  const DeviceArray y = allocate(alloc, x.shape, op, "y");
  const DeviceArray mean = allocate(alloc, stat_shape(x), op, "mean");
  const DeviceArray rstd = allocate(alloc, stat_shape(x), op, "rstd");
  const int64_t cols = x.dim(x.ndim() - 1), rows = cols ? x.size() / cols : mean.size();
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::layer_norm_forward(x.f(), gamma.f(), beta.f(), y.fm(), mean.fm(), rstd.fm(), rows, cols,
                                  static_cast<float>(eps), as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(y.owner, mean.owner, rstd.owner);
}

// Returns (dx, dgamma, dbeta).
py::tuple layer_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& r_in, uintptr_t stream,
                              const py::handle& alloc) {
  const char* op = "layer_norm_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy", -1), x = device_array(x_in, op, "x", -1);
  if (x.ndim() < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  if (dy.shape != x.shape)
    value_error(op, ": dy must have the shape of x ", shape_str(x.shape), ", got ", shape_str(dy.shape));
  const DeviceArray gamma = device_array(g_in, op, "gamma", 1);
  check_affine(op, "gamma", gamma, x);
  const int srank = static_cast<int>(x.ndim() - 1);
  const DeviceArray mean = device_array(m_in, op, "mean", srank), rstd = device_array(r_in, op, "rstd", srank);
  if (mean.shape != stat_shape(x) || rstd.shape != stat_shape(x))
    value_error(op, ": mean and rstd must have shape x.shape[:-1] for x ", shape_str(x.shape), ", got ",
                shape_str(mean.shape), " and ", shape_str(rstd.shape));
  require_same_device(op, {{"dy", &dy}, {"x", &x}, {"gamma", &gamma}, {"mean", &mean}, {"rstd", &rstd}});
  const int64_t cols = x.dim(x.ndim() - 1), rows = cols ? x.size() / cols : 0;
  const DeviceArray dx = allocate(alloc, x.shape, op, "dx");
  const DeviceArray dgamma = allocate(alloc, {cols}, op, "dgamma"), dbeta = allocate(alloc, {cols}, op, "dbeta");
  const int64_t ws_n = gpu::layer_norm_backward_workspace_floats(rows, cols);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::layer_norm_backward(dy.f(), x.f(), gamma.f(), mean.f(), rstd.f(), dx.fm(), dgamma.fm(), dbeta.fm(),
                                   rows, cols, ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(dx.owner, dgamma.owner, dbeta.owner);
}

}  // namespace

void bind_layernorm(py::module_& m) {
  m.def("layer_norm", &layer_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3,
        py::kw_only(), py::arg("stream"), py::arg("alloc"));
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("rstd"), py::kw_only(), py::arg("stream"), py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

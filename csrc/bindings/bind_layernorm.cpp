#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/layernorm.h"

namespace forgenet::bind {

namespace {

// gamma and beta must be (C,) for x (..., C).
void check_affine(const char* op, const char* name, const py::array& p, const py::array& x) {
  const int64_t c = x.shape(x.ndim() - 1);
  if (p.shape(0) != c)
    value_error(op, ": ", name, " must have shape (", c, ",) to match x ", shape_str(x), ", got ", shape_str(p));
}

// Returns (y, mean, rstd); mean and rstd have x's shape without its last axis.
py::tuple layer_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, double eps) {
  const char* op = "layer_norm";
  auto x = checked(x_in, op, "x", -1);
  if (x.ndim() < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  auto gamma = checked(g_in, op, "gamma", 1), beta = checked(b_in, op, "beta", 1);
  check_affine(op, "gamma", gamma, x);
  check_affine(op, "beta", beta, x);
  if (!(eps >= 0.0)) value_error(op, ": epsilon must be >= 0, got ", eps);
  auto stat_shape = dims(x);
  stat_shape.pop_back();
  auto y = empty_f32(dims(x)), mean = empty_f32(stat_shape), rstd = empty_f32(stat_shape);
  const int64_t cols = x.shape(x.ndim() - 1), rows = cols ? x.size() / cols : mean.size();
  {
    py::gil_scoped_release nogil;
    forgenet::layer_norm_forward(fptr(x), fptr(gamma), fptr(beta), fptr_mut(y), fptr_mut(mean), fptr_mut(rstd), rows, cols,
                       static_cast<float>(eps));
  }
  return py::make_tuple(y, mean, rstd);
}

// Returns (dx, dgamma, dbeta).
py::tuple layer_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& r_in) {
  const char* op = "layer_norm_backward";
  auto dy = checked(dy_in, op, "dy", -1), x = checked(x_in, op, "x", -1);
  if (x.ndim() < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  if (dims(dy) != dims(x))
    value_error(op, ": dy must have the shape of x ", shape_str(x), ", got ", shape_str(dy));
  auto gamma = checked(g_in, op, "gamma", 1);
  check_affine(op, "gamma", gamma, x);
  auto mean = checked(m_in, op, "mean", x.ndim() - 1), rstd = checked(r_in, op, "rstd", x.ndim() - 1);
  auto stat_shape = dims(x);
  stat_shape.pop_back();
  if (dims(mean) != stat_shape || dims(rstd) != stat_shape)
    value_error(op, ": mean and rstd must have shape x.shape[:-1] for x ", shape_str(x), ", got ", shape_str(mean),
                " and ", shape_str(rstd));
  const int64_t cols = x.shape(x.ndim() - 1), rows = cols ? x.size() / cols : 0;
  auto dx = empty_f32(dims(x)), dgamma = empty_f32({cols}), dbeta = empty_f32({cols});
  {
    py::gil_scoped_release nogil;
    forgenet::layer_norm_backward(fptr(dy), fptr(x), fptr(gamma), fptr(mean), fptr(rstd), fptr_mut(dx), fptr_mut(dgamma),
                        fptr_mut(dbeta), rows, cols);
  }
  return py::make_tuple(dx, dgamma, dbeta);
}

}  // namespace

void bind_layernorm(py::module_& m) {
  m.def("layer_norm", &layer_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3);
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("rstd"));
}

}  // namespace forgenet::bind

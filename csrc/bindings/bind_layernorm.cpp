// Layer normalisation on numpy arrays: the contract (contracts/layernorm.h) checks, this file
// allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/layernorm.h"
#include "cpu/layernorm.h"

namespace forgenet::bind {

namespace {

// Returns (y, mean, rstd); mean and rstd have x's shape without its last axis.
py::tuple layer_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, double eps,
                     const py::handle& out) {
  const char* op = "layer_norm";
  const Arg x(x_in, op, "x"), gamma(g_in, op, "gamma"), beta(b_in, op, "beta");
  const auto r = contract::layer_norm_forward(op, x.d, gamma.d, beta.d, eps);
  const auto stats = contract::stat_shape(x.d);
  const Inputs in{{"x", &x.d}, {"gamma", &gamma.d}, {"beta", &beta.d}};
  auto y = output(op, "y", x.d.shape, out, 0, 3, in), mean = output(op, "mean", stats, out, 1, 3, in),
       rstd = output(op, "rstd", stats, out, 2, 3, in);
  run(op, [&] {
    forgenet::layer_norm_forward(x.f(), gamma.f(), beta.f(), fptr_mut(y), fptr_mut(mean), fptr_mut(rstd), r.rows,
                                 r.cols, static_cast<float>(eps));
  });
  return py::make_tuple(y, mean, rstd);
}

// Returns (dx, dgamma, dbeta).
py::tuple layer_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& r_in, const py::handle& out) {
  const char* op = "layer_norm_backward";
  const Arg dy(dy_in, op, "dy"), x(x_in, op, "x"), gamma(g_in, op, "gamma"), mean(m_in, op, "mean"),
      rstd(r_in, op, "rstd");
  const auto r = contract::layer_norm_backward(op, dy.d, x.d, gamma.d, mean.d, rstd.d);
  const Inputs in{{"dy", &dy.d}, {"x", &x.d}, {"gamma", &gamma.d}, {"mean", &mean.d}, {"rstd", &rstd.d}};
  auto dx = output(op, "dx", x.d.shape, out, 0, 3, in), dgamma = output(op, "dgamma", {r.cols}, out, 1, 3, in),
       dbeta = output(op, "dbeta", {r.cols}, out, 2, 3, in);
  run(op, [&] {
    forgenet::layer_norm_backward(dy.f(), x.f(), gamma.f(), mean.f(), rstd.f(), fptr_mut(dx), fptr_mut(dgamma),
                                  fptr_mut(dbeta), r.rows, r.cols);
  });
  return py::make_tuple(dx, dgamma, dbeta);
}

}  // namespace

void bind_layernorm(py::module_& m) {
  m.def("layer_norm", &layer_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3,
        py::kw_only(), py::arg("out") = py::none());
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("rstd"), py::kw_only(), py::arg("out") = py::none());
}

}  // namespace forgenet::bind

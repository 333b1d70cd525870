// Batch normalisation on numpy arrays: the contract (contracts/batchnorm.h) checks, this file allocates and
// calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/batchnorm.h"
#include "bindings/window_args.h"
#include "cpu/batchnorm.h"

namespace forgenet::bind {

namespace {

// Training: returns (y, batch mean, batch variance).
py::tuple batch_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, const py::handle& axis,
                     double eps, const py::handle& out) {
  const char* op = "batch_norm";
  const Arg x(x_in, op, "x"), gamma(g_in, op, "gamma"), beta(b_in, op, "beta");
  const auto l = contract::batch_norm_forward(op, x.d, gamma.d, beta.d, int_arg(axis, op, "axis"), eps);
  const Inputs in{{"x", &x.d}, {"gamma", &gamma.d}, {"beta", &beta.d}};
  auto y = output(op, "y", x.d.shape, out, 0, 3, in), mean = output(op, "mean", {l.c}, out, 1, 3, in),
       var = output(op, "variance", {l.c}, out, 2, 3, in);
  run(op, [&] {
    batch_norm_forward_train(x.f(), gamma.f(), beta.f(), fptr_mut(y), fptr_mut(mean), fptr_mut(var), l.outer, l.c,
                             l.inner, static_cast<float>(eps));
  });
  return py::make_tuple(y, mean, var);
}

py::array_t<float> batch_norm_inference(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in,
                                        const py::handle& m_in, const py::handle& v_in, const py::handle& axis,
                                        double eps, const py::handle& out) {
  const char* op = "batch_norm_inference";
  const Arg x(x_in, op, "x"), gamma(g_in, op, "gamma"), beta(b_in, op, "beta"), mean(m_in, op, "mean"),
      var(v_in, op, "variance");
  const auto l = contract::batch_norm_inference(op, x.d, gamma.d, beta.d, mean.d, var.d, int_arg(axis, op, "axis"), eps);
  auto y = output(op, "y", x.d.shape, out, 0, 1,
                  {{"x", &x.d}, {"gamma", &gamma.d}, {"beta", &beta.d}, {"mean", &mean.d}, {"variance", &var.d}});
  run(op, [&] {
    batch_norm_forward_infer(x.f(), gamma.f(), beta.f(), mean.f(), var.f(), fptr_mut(y), l.outer, l.c, l.inner,
                             static_cast<float>(eps));
  });
  return y;
}

// Returns (dx, dgamma, dbeta); `training` says whether mean and variance were the batch's own.
py::tuple batch_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& v_in, const py::handle& axis, double eps,
                              bool training, const py::handle& out) {
  const char* op = "batch_norm_backward";
  const Arg dy(dy_in, op, "dy"), x(x_in, op, "x"), gamma(g_in, op, "gamma"), mean(m_in, op, "mean"),
      var(v_in, op, "variance");
  const auto l =
      contract::batch_norm_backward(op, dy.d, x.d, gamma.d, mean.d, var.d, int_arg(axis, op, "axis"), eps);
  const Inputs in{{"dy", &dy.d}, {"x", &x.d}, {"gamma", &gamma.d}, {"mean", &mean.d}, {"variance", &var.d}};
  auto dx = output(op, "dx", x.d.shape, out, 0, 3, in), dgamma = output(op, "dgamma", {l.c}, out, 1, 3, in),
       dbeta = output(op, "dbeta", {l.c}, out, 2, 3, in);
  run(op, [&] {
    forgenet::batch_norm_backward(dy.f(), x.f(), gamma.f(), mean.f(), var.f(), fptr_mut(dx), fptr_mut(dgamma),
                                  fptr_mut(dbeta), l.outer, l.c, l.inner, static_cast<float>(eps), training);
  });
  return py::make_tuple(dx, dgamma, dbeta);
}

}  // namespace

void bind_batchnorm(py::module_& m) {
  m.def("batch_norm", &batch_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("axis") = -1,
        py::arg("epsilon") = 1e-3, py::kw_only(), py::arg("out") = py::none());
  m.def("batch_norm_inference", &batch_norm_inference, py::arg("x"), py::arg("gamma"), py::arg("beta"),
        py::arg("mean"), py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3, py::kw_only(),
        py::arg("out") = py::none());
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3, py::arg("training") = true,
        py::kw_only(), py::arg("out") = py::none());
}

}  // namespace forgenet::bind

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/norm_window_args.h"
#include "cpu/batchnorm.h"

namespace forgenet::bind {

namespace {

Dims shape_of(const py::array& a) { return Dims(a.shape(), a.shape() + a.ndim()); }

py::array channel_vector(const py::handle& obj, const char* op, const char* name, const ChannelLayout& l,
                         const py::array& x) {
  auto p = checked(obj, op, name, -1);
  check_channel_vector(op, name, shape_of(p), l.c, shape_of(x));
  return p;
}

// Training: returns (y, batch mean, batch variance).
py::tuple batch_norm(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in, int64_t axis,
                     double eps) {
  const char* op = "batch_norm";
  auto x = checked(x_in, op, "x", -1);
  const ChannelLayout l = channel_layout(op, shape_of(x), axis);
  auto gamma = channel_vector(g_in, op, "gamma", l, x), beta = channel_vector(b_in, op, "beta", l, x);
  check_epsilon(op, eps);
  auto y = empty_f32(dims(x)), mean = empty_f32({l.c}), var = empty_f32({l.c});
  {
    py::gil_scoped_release nogil;
    batch_norm_forward_train(fptr(x), fptr(gamma), fptr(beta), fptr_mut(y), fptr_mut(mean), fptr_mut(var), l.outer,
                             l.c, l.inner, static_cast<float>(eps));
  }
  return py::make_tuple(y, mean, var);
}

py::array_t<float> batch_norm_inference(const py::handle& x_in, const py::handle& g_in, const py::handle& b_in,
                                        const py::handle& m_in, const py::handle& v_in, int64_t axis, double eps) {
  const char* op = "batch_norm_inference";
  auto x = checked(x_in, op, "x", -1);
  const ChannelLayout l = channel_layout(op, shape_of(x), axis);
  auto gamma = channel_vector(g_in, op, "gamma", l, x), beta = channel_vector(b_in, op, "beta", l, x);
  auto mean = channel_vector(m_in, op, "mean", l, x), var = channel_vector(v_in, op, "variance", l, x);
  check_epsilon(op, eps);
  auto y = empty_f32(dims(x));
  {
    py::gil_scoped_release nogil;
    batch_norm_forward_infer(fptr(x), fptr(gamma), fptr(beta), fptr(mean), fptr(var), fptr_mut(y), l.outer, l.c,
                             l.inner, static_cast<float>(eps));
  }
  return y;
}

// Returns (dx, dgamma, dbeta); `training` says whether mean and variance were the batch's own.
py::tuple batch_norm_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& g_in,
                              const py::handle& m_in, const py::handle& v_in, int64_t axis, double eps, bool training) {
  const char* op = "batch_norm_backward";
  auto dy = checked(dy_in, op, "dy", -1), x = checked(x_in, op, "x", -1);
  const ChannelLayout l = channel_layout(op, shape_of(x), axis);
  if (dims(dy) != dims(x)) value_error(op, ": dy must have the shape of x ", shape_str(x), ", got ", shape_str(dy));
  auto gamma = channel_vector(g_in, op, "gamma", l, x);
  auto mean = channel_vector(m_in, op, "mean", l, x), var = channel_vector(v_in, op, "variance", l, x);
  check_epsilon(op, eps);
  auto dx = empty_f32(dims(x)), dgamma = empty_f32({l.c}), dbeta = empty_f32({l.c});
  {
    py::gil_scoped_release nogil;
    forgenet::batch_norm_backward(fptr(dy), fptr(x), fptr(gamma), fptr(mean), fptr(var), fptr_mut(dx),
                                  fptr_mut(dgamma), fptr_mut(dbeta), l.outer, l.c, l.inner, static_cast<float>(eps),
                                  training);
  }
  return py::make_tuple(dx, dgamma, dbeta);
}

}  // namespace

void bind_batchnorm(py::module_& m) {
  m.def("batch_norm", &batch_norm, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("axis") = -1,
        py::arg("epsilon") = 1e-3);
  m.def("batch_norm_inference", &batch_norm_inference, py::arg("x"), py::arg("gamma"), py::arg("beta"),
        py::arg("mean"), py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3);
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"),
        py::arg("variance"), py::arg("axis") = -1, py::arg("epsilon") = 1e-3, py::arg("training") = true);
}

}  // namespace forgenet::bind

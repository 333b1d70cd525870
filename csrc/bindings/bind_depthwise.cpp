#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/norm_window_args.h"
#include "cpu/depthwise_conv2d.h"

namespace forgenet::bind {

namespace {

Dims shape_of(const py::array& a) { return Dims(a.shape(), a.shape() + a.ndim()); }

py::array_t<float> depthwise_conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                                    const py::handle& strides, const py::handle& padding,
                                    const py::handle& dilation) {
  const char* op = "depthwise_conv2d";
  auto x = checked(x_in, op, "x", 4);
  auto k = checked(k_in, op, "kernel", 4);
  const DepthwiseGeom g = depthwise_geometry(op, shape_of(x), shape_of(k), strides, padding, dilation);
  py::array bias;
  if (!bias_in.is_none()) {
    bias = checked(bias_in, op, "bias", 1);
    if (bias.shape(0) != g.c * g.m)
      value_error(op, ": bias must have shape (", g.c * g.m, ",), got ", shape_str(bias));
  }
  const Dims out = depthwise_out(g);
  auto y = empty_f32(std::vector<py::ssize_t>(out.begin(), out.end()));
  const float* b = bias_in.is_none() ? nullptr : fptr(bias);
  {
    py::gil_scoped_release nogil;
    depthwise_conv2d_forward(g, fptr(x), fptr(k), b, fptr_mut(y));
  }
  return y;
}

// Returns (dx or None, dkernel, dbias).
py::tuple depthwise_conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                                    const py::handle& strides, const py::handle& padding,
                                    const py::handle& dilation, bool need_dx) {
  const char* op = "depthwise_conv2d_backward";
  auto dy = checked(dy_in, op, "dy", 4);
  auto x = checked(x_in, op, "x", 4);
  auto k = checked(k_in, op, "kernel", 4);
  const DepthwiseGeom g = depthwise_geometry(op, shape_of(x), shape_of(k), strides, padding, dilation);
  if (shape_of(dy) != depthwise_out(g))
    value_error(op, ": dy must have the forward output's shape ", dims_str(depthwise_out(g)), ", got ",
                shape_str(dy));
  py::object dx = py::none();
  float* dx_ptr = nullptr;
  if (need_dx) {
    auto a = empty_f32(dims(x));
    dx_ptr = fptr_mut(a);
    dx = a;
  }
  auto dk = empty_f32(dims(k));
  auto db = empty_f32({g.c * g.m});
  {
    py::gil_scoped_release nogil;
    forgenet::depthwise_conv2d_backward(g, fptr(dy), fptr(x), fptr(k), dx_ptr, fptr_mut(dk), fptr_mut(db));
  }
  return py::make_tuple(dx, dk, db);
}

}  // namespace

void bind_depthwise(py::module_& m) {
  m.def("depthwise_conv2d", &depthwise_conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1));
  m.def("depthwise_conv2d_backward", &depthwise_conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1), py::arg("need_dx") = true);
}

}  // namespace forgenet::bind

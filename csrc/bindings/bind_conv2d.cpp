#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/window_args.h"
#include "cpu/conv2d.h"

namespace forgenet::bind {

namespace {

// Checks x (N,H,W,Cin) against kernel (KH,KW,Cin,Cout) and returns the geometry.
Window2d conv_geometry(const char* op, const py::array& x, const py::array& k, const py::handle& strides_in,
                       const py::handle& padding_in) {
  const Pair s = pair_arg(strides_in, op, "strides");
  const bool same = padding_arg(padding_in, op);
  const int64_t h = x.shape(1), w = x.shape(2), kh = k.shape(0), kw = k.shape(1);
  if (kh < 1 || kw < 1) value_error(op, ": kernel must be at least 1x1, got shape ", shape_str(k));
  if (x.shape(3) != k.shape(2))
    value_error(op, ": x has ", x.shape(3), " channels but kernel ", shape_str(k), " expects ", k.shape(2));
  if (!same && (kh > h || kw > w))
    value_error(op, ": kernel (", kh, ", ", kw, ") larger than input (", h, ", ", w, ") with padding='valid'");
  return make_window2d(x.shape(0), h, w, x.shape(3), kh, kw, s.first, s.second, same);
}

py::array_t<float> conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                          const py::handle& strides, const py::handle& padding) {
  const char* op = "conv2d";
  auto x = checked(x_in, op, "x", 4);
  auto k = checked(k_in, op, "kernel", 4);
  const Window2d g = conv_geometry(op, x, k, strides, padding);
  const int64_t cout = k.shape(3);
  py::array bias;
  if (!bias_in.is_none()) {
    bias = checked(bias_in, op, "bias", 1);
    if (bias.shape(0) != cout) value_error(op, ": bias must have shape (", cout, ",), got ", shape_str(bias));
  }
  auto y = empty_f32({g.n, g.ho, g.wo, cout});
  const float* b = bias_in.is_none() ? nullptr : fptr(bias);
  {
    py::gil_scoped_release nogil;
    conv2d_forward(g, cout, fptr(x), fptr(k), b, fptr_mut(y));
  }
  return y;
}

py::tuple conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                          const py::handle& strides, const py::handle& padding) {
  const char* op = "conv2d_backward";
  auto dy = checked(dy_in, op, "dy", 4);
  auto x = checked(x_in, op, "x", 4);
  auto k = checked(k_in, op, "kernel", 4);
  const Window2d g = conv_geometry(op, x, k, strides, padding);
  const int64_t cout = k.shape(3);
  if (dy.shape(0) != g.n || dy.shape(1) != g.ho || dy.shape(2) != g.wo || dy.shape(3) != cout)
    value_error(op, ": dy must have the forward output's shape (", g.n, ", ", g.ho, ", ", g.wo, ", ", cout,
                "), got ", shape_str(dy));
  auto dx = empty_f32(dims(x));
  auto dk = empty_f32(dims(k));
  auto db = empty_f32({cout});
  {
    py::gil_scoped_release nogil;
    conv2d_backward(g, cout, fptr(dy), fptr(x), fptr(k), fptr_mut(dx), fptr_mut(dk), fptr_mut(db));
  }
  return py::make_tuple(dx, dk, db);
}

}  // namespace

void bind_conv2d(py::module_& m) {
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid");
  m.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid");
}

}  // namespace forgenet::bind

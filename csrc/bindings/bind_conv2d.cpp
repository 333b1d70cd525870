// conv2d on numpy arrays: the contract (contracts/window.h) checks, this file allocates and calls.
#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/window_args.h"
#include "cpu/conv2d.h"

namespace forgenet::bind {

namespace {

py::array_t<float> conv2d(const py::handle& x_in, const py::handle& k_in, const py::handle& bias_in,
                          const py::handle& strides, const py::handle& padding, const py::handle& out) {
  const char* op = "conv2d";
  const Arg x(x_in, op, "x"), k(k_in, op, "kernel");
  Arg bias;
  if (!bias_in.is_none()) bias = Arg(bias_in, op, "bias");
  const auto p = contract::conv_forward(op, x.d, k.d, bias_in.is_none() ? nullptr : &bias.d,
                                        pair_arg(strides, op, "strides"), padding_arg(padding, op));
  auto y = output(op, "y", contract::out_shape(p.g, p.cout), out, 0, 1,
                  {{"x", &x.d}, {"kernel", &k.d}, {"bias", bias_in.is_none() ? nullptr : &bias.d}});
  const float* b = bias_in.is_none() ? nullptr : bias.f();
  run(op, [&] { conv2d_forward(p.g, p.cout, x.f(), k.f(), b, fptr_mut(y)); });
  return y;
}

py::tuple conv2d_backward(const py::handle& dy_in, const py::handle& x_in, const py::handle& k_in,
                          const py::handle& strides, const py::handle& padding, bool need_dx, bool need_db,
                          const py::handle& out) {
  const char* op = "conv2d_backward";
  const Arg dy(dy_in, op, "dy"), x(x_in, op, "x"), k(k_in, op, "kernel");
  const auto p = contract::conv_backward(op, dy.d, x.d, k.d, pair_arg(strides, op, "strides"), padding_arg(padding, op));
  const Inputs in{{"dy", &dy.d}, {"x", &x.d}, {"kernel", &k.d}};
  // out[i] when `need`, else None (and out[i] must be None): a first layer's input needs no dx (its GEMM
  // and col2im are skipped), a convolution without bias no dbias (a pass over dy)
  auto optional = [&](bool need, int i, const char* name, const contract::Shape& shape, const char* flag,
                      float*& ptr) -> py::object {
    if (need) {
      auto a = output(op, name, shape, out, i, 3, in);
      ptr = fptr_mut(a);
      return a;
    }
    if (!out_arg(out, i, 3, op).is_none())
      value_error(op, ": out[", i, "] (", name, ") must be None when ", flag, "=False");
    return py::none();
  };
  float *dx_ptr = nullptr, *db_ptr = nullptr;
  py::object dx = optional(need_dx, 0, "dx", x.d.shape, "need_dx", dx_ptr);
  auto dk = output(op, "dkernel", k.d.shape, out, 1, 3, in);
  py::object db = optional(need_db, 2, "dbias", {p.cout}, "need_db", db_ptr);
  run(op, [&] { conv2d_backward(p.g, p.cout, dy.f(), x.f(), k.f(), dx_ptr, fptr_mut(dk), db_ptr); });
  return py::make_tuple(dx, dk, db);
}

// Which engine conv2d would take for these shapes, (forward, dx): True where Winograd (tests check the
// rule and compare both paths with FORGENET_CONV2D_WINOGRAD).
py::tuple conv2d_uses_winograd(const std::vector<int64_t>& x, const std::vector<int64_t>& k,
                               const py::handle& strides, const py::handle& padding) {
  const char* op = "_conv2d_uses_winograd";
  if (x.size() != 4 || k.size() != 4) value_error(op, ": x_shape and kernel_shape must have 4 entries");
  const Pair s = pair_arg(strides, op, "strides");
  const Window2d g = make_window2d(x[0], x[1], x[2], x[3], k[0], k[1], s.h, s.w, padding_arg(padding, op));
  return py::make_tuple(conv2d_uses_winograd(g, k[3], false), conv2d_uses_winograd(g, k[3], true));
}

// The engine of each pass for these shapes, (forward, dkernel, dx), as conv2d_path names them.
py::tuple conv2d_path(const std::vector<int64_t>& x, const std::vector<int64_t>& k, const py::handle& strides,
                      const py::handle& padding) {
  const char* op = "_conv2d_path";
  if (x.size() != 4 || k.size() != 4) value_error(op, ": x_shape and kernel_shape must have 4 entries");
  const Pair s = pair_arg(strides, op, "strides");
  const Window2d g = make_window2d(x[0], x[1], x[2], x[3], k[0], k[1], s.h, s.w, padding_arg(padding, op));
  return py::make_tuple(conv2d_path_name(forgenet::conv2d_path(g, k[3], ConvPass::forward)),
                        conv2d_path_name(forgenet::conv2d_path(g, k[3], ConvPass::kernel_gradient)),
                        conv2d_path_name(forgenet::conv2d_path(g, k[3], ConvPass::input_gradient)));
}

}  // namespace

void bind_conv2d(py::module_& m) {
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("kernel"), py::arg("bias") = py::none(), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid", py::arg("out") = py::none());
  m.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("kernel"), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid", py::arg("need_dx") = true,
        py::arg("need_db") = true,
        py::arg("out") = py::none());
  m.def("_conv2d_uses_winograd", &conv2d_uses_winograd, py::arg("x_shape"), py::arg("kernel_shape"),
        py::kw_only(), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid");
  m.def("_conv2d_path", &conv2d_path, py::arg("x_shape"), py::arg("kernel_shape"), py::kw_only(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid");
}

}  // namespace forgenet::bind

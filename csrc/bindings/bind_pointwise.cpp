// Fused pointwise backward steps (cpu/pointwise.h) on numpy arrays. out= may be g itself (each element
// is read before it is written), never a buffer that only partly overlaps g, nor y.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/pointwise.h"

namespace forgenet::bind {

namespace {

// g and y: float32, C-contiguous, the same shape (rank -1: any).
void require_pair(const char* op, const Arg& g, const Arg& y, int rank) {
  contract::require(g.d, op, "g", DType::F32, rank);
  contract::require(y.d, op, "y", DType::F32, rank);
  contract::require_shape(y.d, op, "y", g.d.shape, "(the shape of g)");
}

// The output buffer: out= (exactly g, or disjoint from g and y) or a new array of g's shape.
py::array_t<float> grad_out(const char* op, const Arg& g, const Arg* y, const py::handle& out, size_t i, size_t count) {
  py::object o = out_arg(out, i, count, op);
  const bool is_g = g.d.size() > 0 && py::isinstance<py::array>(o) && py::reinterpret_borrow<py::array>(o).data() == g.d.data;
  const ArrayDesc* gd = is_g ? nullptr : &g.d;
  return output(op, "the gradient", g.d.shape, out, i, count, {{"g", gd}, {"y", y ? &y->d : nullptr}});
}

// In place: x must be float32, C-contiguous and writeable; returns x.
py::array relu_inplace(const py::handle& x_in) {
  const char* op = "relu_";
  Arg x(as_array(x_in, op, "x"), op, "x");  // returned: an array object, also for a capsule
  contract::require(x.d, op, "x", DType::F32, -1);
  if (!x.d.writeable) value_error(op, ": x must be writeable (the ReLU is applied in place)");
  run(op, [&] { forgenet::relu_inplace(x.fm(), x.d.size()); });
  return x.a;
}

py::array_t<float> relu_backward(const py::handle& g_in, const py::handle& y_in, const py::handle& out_in) {
  const char* op = "relu_backward";
  const Arg g(g_in, op, "g"), y(y_in, op, "y");
  require_pair(op, g, y, -1);
  auto out = grad_out(op, g, &y, out_in, 0, 1);
  run(op, [&] { forgenet::relu_backward(g.f(), y.f(), fptr_mut(out), g.d.size()); });
  return out;
}

py::tuple bias_relu_backward(const py::handle& g_in, const py::handle& y_in, bool relu, const py::handle& out_in) {
  const char* op = "bias_relu_backward";
  const Arg g(g_in, op, "g");
  contract::require(g.d, op, "g", DType::F32, 2);
  Arg y;
  if (relu) {
    if (y_in.is_none()) value_error(op, ": y (the ReLU's output) is required when relu=True");
    y = Arg(y_in, op, "y");
    require_pair(op, g, y, 2);
  } else if (!y_in.is_none()) {
    value_error(op, ": y must be None when relu=False (nothing reads it)");
  }
  auto dz = grad_out(op, g, relu ? &y : nullptr, out_in, 0, 2);
  const int64_t rows = g.d.dim(0), cols = g.d.dim(1);
  auto db = output(op, "the bias gradient", {cols}, out_in, 1, 2, {{"g", &g.d}, {"y", relu ? &y.d : nullptr}});
  run(op, [&] {
    forgenet::bias_relu_backward(g.f(), relu ? y.f() : nullptr, fptr_mut(dz), fptr_mut(db), rows, cols, relu);
  });
  return py::make_tuple(dz, db);
}

}  // namespace

void bind_pointwise(py::module_& m) {
  m.def("relu_", &relu_inplace, py::arg("x"), "x = max(x, 0) in place (NaN stays NaN); returns x");
  m.def("relu_backward", &relu_backward, py::arg("g"), py::arg("y"), py::kw_only(), py::arg("out") = py::none(),
        "g where y > 0, else 0 (y: the ReLU's output); out may be g");
  m.def("bias_relu_backward", &bias_relu_backward, py::arg("g"), py::arg("y"), py::kw_only(), py::arg("relu") = true,
        py::arg("out") = py::none(),
        "(dz, db): dz = g masked by y > 0 (relu) or g, db = dz summed over rows; out: (dz, db) buffers, dz may be g");
}

}  // namespace forgenet::bind

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/softmax.h"

namespace forgenet::bind {

namespace {

// Softmax over the last axis of any-rank input (the ops layer moves other axes last).
py::array_t<float> softmax(const py::handle& x_in) {
  auto x = checked(x_in, "softmax", "x", -1);
  if (x.ndim() < 1) value_error("softmax: x must have rank >= 1, got a scalar");
  auto y = empty_f32(dims(x));
  const int64_t cols = x.shape(x.ndim() - 1);
  const int64_t rows = cols ? x.size() / cols : 0;
  {
    py::gil_scoped_release nogil;
    softmax_rows(fptr(x), fptr_mut(y), rows, cols);
  }
  return y;
}

py::array_t<float> softmax_backward(const py::handle& dy_in, const py::handle& y_in) {
  auto dy = checked(dy_in, "softmax_backward", "dy", -1);
  auto y = checked(y_in, "softmax_backward", "y", -1);
  if (dims(dy) != dims(y))
    value_error("softmax_backward: dy and y must have the same shape, got ", shape_str(dy), " and ", shape_str(y));
  if (y.ndim() < 1) value_error("softmax_backward: y must have rank >= 1, got a scalar");
  auto dx = empty_f32(dims(y));
  const int64_t cols = y.shape(y.ndim() - 1);
  const int64_t rows = cols ? y.size() / cols : 0;
  {
    py::gil_scoped_release nogil;
    softmax_backward_rows(fptr(y), fptr(dy), fptr_mut(dx), rows, cols);
  }
  return dx;
}

// Returns (loss (N,), grad (N, C)) where grad = softmax(logits) - target, per sample.
py::tuple softmax_cross_entropy(const py::handle& logits_in, const py::handle& target_in) {
  const char* op = "softmax_cross_entropy";
  auto logits = checked(logits_in, op, "logits", 2);
  const int64_t n = logits.shape(0), c = logits.shape(1);
  if (c < 1) value_error(op, ": logits must have at least one class, got shape ", shape_str(logits));
  auto loss = empty_f32({n});
  auto grad = empty_f32({n, c});
  auto target_arr = py::reinterpret_borrow<py::array>(target_in);
  if (py::isinstance<py::array>(target_in) && target_arr.ndim() == 1) {
    auto labels = checked(target_in, op, "labels", 1, /*integer=*/true);
    if (labels.shape(0) != n)
      value_error(op, ": labels must have shape (", n, ",) to match logits ", shape_str(logits), ", got ", shape_str(labels));
    int64_t bad;
    {
      py::gil_scoped_release nogil;
      bad = softmax_xent_sparse(fptr(logits), iptr(labels), fptr_mut(loss), fptr_mut(grad), n, c);
    }
    if (bad >= 0)
      value_error(op, ": labels must be in [0, ", c, "), got ", iptr(labels)[bad], " at index ", bad);
  } else {
    auto target = checked(target_in, op, "target", 2);
    if (dims(target) != dims(logits))
      value_error(op, ": target must have the shape of logits ", shape_str(logits), ", got ", shape_str(target));
    py::gil_scoped_release nogil;
    softmax_xent_dense(fptr(logits), fptr(target), fptr_mut(loss), fptr_mut(grad), n, c);
  }
  return py::make_tuple(loss, grad);
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax", &softmax, py::arg("x"));
  m.def("softmax_backward", &softmax_backward, py::arg("dy"), py::arg("y"));
  m.def("softmax_cross_entropy", &softmax_cross_entropy, py::arg("logits"), py::arg("target"));
}

}  // namespace forgenet::bind

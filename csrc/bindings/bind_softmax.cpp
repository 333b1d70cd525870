// Softmax on numpy arrays: the contract (contracts/softmax.h) checks, this file allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/softmax.h"
#include "cpu/softmax.h"

namespace forgenet::bind {

namespace {

// Softmax over the last axis of any-rank input (the ops layer moves other axes last).
py::array_t<float> softmax(const py::handle& x_in, const py::handle& out) {
  const char* op = "softmax";
  const Arg x(x_in, op, "x");
  const auto r = contract::softmax_forward(op, x.d);
  auto y = output(op, "y", x.d.shape, out, 0, 1, {{"x", &x.d}});
  run(op, [&] { softmax_rows(x.f(), fptr_mut(y), r.rows, r.cols); });
  return y;
}

py::array_t<float> softmax_backward(const py::handle& dy_in, const py::handle& y_in, const py::handle& out) {
  const char* op = "softmax_backward";
  const Arg dy(dy_in, op, "dy"), y(y_in, op, "y");
  const auto r = contract::softmax_backward(op, dy.d, y.d);
  auto dx = output(op, "dx", y.d.shape, out, 0, 1, {{"dy", &dy.d}, {"y", &y.d}});
  run(op, [&] { softmax_backward_rows(y.f(), dy.f(), fptr_mut(dx), r.rows, r.cols); });
  return dx;
}

// Returns (loss (N,), grad (N, C)) where grad = softmax(logits) - target, per sample. A 1-D target is
// integer labels, anything else dense probabilities.
py::tuple softmax_cross_entropy(const py::handle& logits_in, const py::handle& target_in, const py::handle& out) {
  const char* op = "softmax_cross_entropy";
  const Arg logits(logits_in, op, "logits");
  const bool sparse = py::isinstance<py::array>(target_in) && py::reinterpret_borrow<py::array>(target_in).ndim() == 1;
  const Arg target(target_in, op, sparse ? "labels" : "target");
  const auto r = contract::softmax_xent(op, logits.d, target.d, sparse);
  const Inputs in{{"logits", &logits.d}, {sparse ? "labels" : "target", &target.d}};
  auto loss = output(op, "loss", {r.rows}, out, 0, 2, in);
  auto grad = output(op, "grad", {r.rows, r.cols}, out, 1, 2, in);
  if (sparse) {
    const int64_t bad = run(op, [&] {
      return softmax_xent_sparse(logits.f(), target.i64(), fptr_mut(loss), fptr_mut(grad), r.rows, r.cols);
    });
    if (bad >= 0) contract::bad_label(op, target.i64(), bad, r.cols);
  } else {
    run(op, [&] { softmax_xent_dense(logits.f(), target.f(), fptr_mut(loss), fptr_mut(grad), r.rows, r.cols); });
  }
  return py::make_tuple(loss, grad);
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax", &softmax, py::arg("x"), py::kw_only(), py::arg("out") = py::none());
  m.def("softmax_backward", &softmax_backward, py::arg("dy"), py::arg("y"), py::kw_only(), py::arg("out") = py::none());
  m.def("softmax_cross_entropy", &softmax_cross_entropy, py::arg("logits"), py::arg("target"), py::kw_only(),
        py::arg("out") = py::none());
}

}  // namespace forgenet::bind

// Softmax on CUDA arrays: the contract (contracts/softmax.h) checks, this file allocates and launches.
#include "bindings/contracts/softmax.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/softmax.h"

namespace forgenet::bind::cuda {

namespace {

py::object softmax(const py::handle& x_in, uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "softmax";
  const DeviceArray x = device_array(x_in, op, "x");
  const auto r = contract::softmax_forward(op, x.d);
  require_same_device(op, {{"x", &x}});
  const DeviceArray y = output(alloc, x.shape, op, "y", out, 0, 1, {{"x", &x}});
  launch(op, stream, [&] { return gpu::softmax_rows(x.f(), y.fm(), r.rows, r.cols, as_stream(stream)); });
  return y.owner;
}

py::object softmax_backward(const py::handle& dy_in, const py::handle& y_in, uintptr_t stream,
                            const py::handle& alloc, const py::handle& out) {
  const char* op = "softmax_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy"), y = device_array(y_in, op, "y");
  const auto r = contract::softmax_backward(op, dy.d, y.d);
  require_same_device(op, {{"dy", &dy}, {"y", &y}});
  const DeviceArray dx = output(alloc, y.shape, op, "dx", out, 0, 1, {{"dy", &dy}, {"y", &y}});
  launch(op, stream, [&] { return gpu::softmax_backward_rows(y.f(), dy.f(), dx.fm(), r.rows, r.cols, as_stream(stream)); });
  return dx.owner;
}

// (loss (N,), grad (N, C)), grad = softmax(logits) - target. Integer labels must be in [0, C): the ops
// layer checks that (it costs a device sync); here an out-of-range label yields a NaN row, never a bad read.
py::tuple softmax_cross_entropy(const py::handle& logits_in, const py::handle& target_in, uintptr_t stream,
                                const py::handle& alloc, const py::handle& out) {
  const char* op = "softmax_cross_entropy";
  const DeviceArray logits = device_array(logits_in, op, "logits");
  // Rank 1 means labels (as forgenet._C); anything else must be dense float32 targets.
  bool sparse = false;
  if (py::hasattr(target_in, "__cuda_array_interface__")) {
    py::object iface = target_in.attr("__cuda_array_interface__");
    sparse = py::isinstance<py::dict>(iface) && iface.contains("shape") && py::len(iface["shape"]) == 1;
  }
  const DeviceArray target = device_array(target_in, op, sparse ? "labels" : "target");
  const auto r = contract::softmax_xent(op, logits.d, target.d, sparse);
  require_same_device(op, {{"logits", &logits}, {sparse ? "labels" : "target", &target}});
  const std::vector<std::pair<const char*, const DeviceArray*>> in{{"logits", &logits}, {sparse ? "labels" : "target", &target}};
  const DeviceArray loss = output(alloc, {r.rows}, op, "loss", out, 0, 2, in);
  const DeviceArray grad = output(alloc, {r.rows, r.cols}, op, "grad", out, 1, 2, in);
  launch(op, stream, [&] {
    return sparse ? gpu::softmax_xent_sparse(logits.f(), target.i64(), loss.fm(), grad.fm(), r.rows, r.cols, as_stream(stream))
                  : gpu::softmax_xent_dense(logits.f(), target.f(), loss.fm(), grad.fm(), r.rows, r.cols, as_stream(stream));
  });
  return py::make_tuple(loss.owner, grad.owner);
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax", &softmax, py::arg("x"), py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
  m.def("softmax_backward", &softmax_backward, py::arg("dy"), py::arg("y"), py::kw_only(), py::arg("stream"),
        py::arg("alloc"), py::arg("out") = py::none());
  m.def("softmax_cross_entropy", &softmax_cross_entropy, py::arg("logits"), py::arg("target"), py::kw_only(),
        py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
}

}  // namespace forgenet::bind::cuda

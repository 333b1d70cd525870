#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/softmax.h"

namespace forgenet::bind::cuda {

namespace {

inline int64_t rows_of(const DeviceArray& a) {
  const int64_t cols = a.dim(a.ndim() - 1);
  return cols ? a.size() / cols : 0;
}

py::object softmax(const py::handle& x_in, uintptr_t stream, const py::handle& alloc) {
  const char* op = "softmax";
  const DeviceArray x = device_array(x_in, op, "x", -1);
  if (x.ndim() < 1) value_error(op, ": x must have rank >= 1, got a scalar");
  require_same_device(op, {{"x", &x}});
  const DeviceArray y = allocate(alloc, x.shape, op, "y");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::softmax_rows(x.f(), y.fm(), rows_of(x), x.dim(x.ndim() - 1), as_stream(stream));
  }
  check_cuda(err, op);
  return y.owner;
}

py::object softmax_backward(const py::handle& dy_in, const py::handle& y_in, uintptr_t stream,
                            const py::handle& alloc) {
  const char* op = "softmax_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy", -1), y = device_array(y_in, op, "y", -1);
  if (dy.shape != y.shape)
    value_error(op, ": dy and y must have the same shape, got ", shape_str(dy.shape), " and ", shape_str(y.shape));
  if (y.ndim() < 1) value_error(op, ": y must have rank >= 1, got a scalar");
  require_same_device(op, {{"dy", &dy}, {"y", &y}});
  const DeviceArray dx = allocate(alloc, y.shape, op, "dx");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::softmax_backward_rows(y.f(), dy.f(), dx.fm(), rows_of(y), y.dim(y.ndim() - 1), as_stream(stream));
  }
  check_cuda(err, op);
  return dx.owner;
}

// (loss (N,), grad (N, C)), grad = softmax(logits) - target. Integer labels must be in [0, C): the ops
// layer checks that (it costs a device sync); here an out-of-range label yields a NaN row, never a bad read.
py::tuple softmax_cross_entropy(const py::handle& logits_in, const py::handle& target_in, uintptr_t stream,
                                const py::handle& alloc) {
  const char* op = "softmax_cross_entropy";
  const DeviceArray logits = device_array(logits_in, op, "logits", 2);
  const int64_t n = logits.dim(0), c = logits.dim(1);
  if (c < 1) value_error(op, ": logits must have at least one class, got shape ", shape_str(logits.shape));
  // Rank 1 means labels (as forgenet._C); anything else must be dense float32 targets.
  bool sparse = false;
  if (py::hasattr(target_in, "__cuda_array_interface__")) {
    py::object shape = target_in.attr("__cuda_array_interface__")["shape"];
    sparse = py::len(shape) == 1;
  }
  const DeviceArray target = sparse ? device_array(target_in, op, "labels", 1, /*integer=*/true)
                                    : device_array(target_in, op, "target", 2);
  if (sparse && target.dim(0) != n)
    value_error(op, ": labels must have shape (", n, ",) to match logits ", shape_str(logits.shape), ", got ",
                shape_str(target.shape));
  if (!sparse && target.shape != logits.shape)
    value_error(op, ": target must have the shape of logits ", shape_str(logits.shape), ", got ",
                shape_str(target.shape));
  require_same_device(op, {{"logits", &logits}, {sparse ? "labels" : "target", &target}});
  const DeviceArray loss = allocate(alloc, {n}, op, "loss");
  const DeviceArray grad = allocate(alloc, {n, c}, op, "grad");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = sparse ? gpu::softmax_xent_sparse(logits.f(), target.i64(), loss.fm(), grad.fm(), n, c, as_stream(stream))
                 : gpu::softmax_xent_dense(logits.f(), target.f(), loss.fm(), grad.fm(), n, c, as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(loss.owner, grad.owner);
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax", &softmax, py::arg("x"), py::kw_only(), py::arg("stream"), py::arg("alloc"));
  m.def("softmax_backward", &softmax_backward, py::arg("dy"), py::arg("y"), py::kw_only(), py::arg("stream"),
        py::arg("alloc"));
  m.def("softmax_cross_entropy", &softmax_cross_entropy, py::arg("logits"), py::arg("target"), py::kw_only(),
        py::arg("stream"), py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

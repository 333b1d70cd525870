#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/embedding.h"

#include <algorithm>

namespace forgenet::bind::cuda {

namespace {

// ids: int64 of any shape; embeddings (input_dim, output_dim) -> (*ids.shape, output_dim). Unlike
// forgenet._C, ids are not range-checked here (that needs a device sync): a bad id gives a NaN row.
py::object embedding(const py::handle& ids_in, const py::handle& table_in, uintptr_t stream, const py::handle& alloc) {
  const char* op = "embedding";
  const DeviceArray ids = device_array(ids_in, op, "ids", -1, /*integer=*/true);
  const DeviceArray table = device_array(table_in, op, "embeddings", 2);
  require_same_device(op, {{"ids", &ids}, {"embeddings", &table}});
  Shape shape = ids.shape;
  shape.push_back(table.dim(1));
  const DeviceArray out = allocate(alloc, shape, op, "output");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::embedding_forward(ids.i64(), ids.size(), table.f(), table.dim(0), table.dim(1), out.fm(),
                                 as_stream(stream));
  }
  check_cuda(err, op);
  return out.owner;
}

// (input_dim, output_dim); a bad id adds nothing.
py::object embedding_backward(const py::handle& dy_in, const py::handle& ids_in, int64_t input_dim, uintptr_t stream,
                              const py::handle& alloc) {
  const char* op = "embedding_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy", -1);
  const DeviceArray ids = device_array(ids_in, op, "ids", -1, /*integer=*/true);
  if (input_dim < 0) value_error(op, ": input_dim must be >= 0, got ", input_dim);
  if (dy.ndim() != ids.ndim() + 1 || !std::equal(ids.shape.begin(), ids.shape.end(), dy.shape.begin()))
    value_error(op, ": dy must have shape ids.shape + (output_dim,) with ids ", shape_str(ids.shape), ", got ",
                shape_str(dy.shape));
  require_same_device(op, {{"dy", &dy}, {"ids", &ids}});
  const int64_t dim = dy.dim(dy.ndim() - 1);
  const DeviceArray dtable = allocate(alloc, {input_dim, dim}, op, "dembeddings");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::embedding_backward(dy.f(), ids.i64(), ids.size(), input_dim, dim, dtable.fm(), as_stream(stream));
  }
  check_cuda(err, op);
  return dtable.owner;
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding", &embedding, py::arg("ids"), py::arg("embeddings"), py::kw_only(), py::arg("stream"),
        py::arg("alloc"));
  m.def("embedding_backward", &embedding_backward, py::arg("dy"), py::arg("ids"), py::arg("input_dim"), py::kw_only(),
        py::arg("stream"), py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

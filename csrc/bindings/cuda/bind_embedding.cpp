// Embedding on CUDA arrays: the contract (contracts/embedding.h) checks, this file allocates and launches.
#include "bindings/contracts/embedding.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/window_args.h"
#include "cuda/embedding.h"

namespace forgenet::bind::cuda {

namespace {

// ids: int64 of any shape; embeddings (input_dim, output_dim) -> (*ids.shape, output_dim). Unlike
// forgenet._C, ids are not range-checked here (that needs a device sync): a bad id gives a NaN row.
py::object embedding(const py::handle& ids_in, const py::handle& table_in, uintptr_t stream, const py::handle& alloc,
                     const py::handle& out_in) {
  const char* op = "embedding";
  const DeviceArray ids = device_array(ids_in, op, "ids"), table = device_array(table_in, op, "embeddings");
  const Shape shape = contract::embedding_forward(op, ids.d, table.d);
  require_same_device(op, {{"ids", &ids}, {"embeddings", &table}});
  const DeviceArray out = output(alloc, shape, op, "output", out_in, 0, 1, {{"ids", &ids}, {"embeddings", &table}});
  launch(op, stream, [&] {
    return gpu::embedding_forward(ids.i64(), ids.size(), table.f(), table.dim(0), table.dim(1), out.fm(), as_stream(stream));
  });
  return out.owner;
}

// (input_dim, output_dim); a bad id adds nothing.
py::object embedding_backward(const py::handle& dy_in, const py::handle& ids_in, const py::handle& input_dim_in,
                              uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "embedding_backward";
  const DeviceArray dy = device_array(dy_in, op, "dy"), ids = device_array(ids_in, op, "ids");
  const int64_t input_dim = int_arg(input_dim_in, op, "input_dim");
  const Shape shape = contract::embedding_backward(op, dy.d, ids.d, input_dim);
  require_same_device(op, {{"dy", &dy}, {"ids", &ids}});
  const DeviceArray dtable = output(alloc, shape, op, "dembeddings", out, 0, 1, {{"dy", &dy}, {"ids", &ids}});
  launch(op, stream, [&] {
    return gpu::embedding_backward(dy.f(), ids.i64(), ids.size(), input_dim, shape[1], dtable.fm(), as_stream(stream));
  });
  return dtable.owner;
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding", &embedding, py::arg("ids"), py::arg("embeddings"), py::kw_only(), py::arg("stream"),
        py::arg("alloc"), py::arg("out") = py::none());
  m.def("embedding_backward", &embedding_backward, py::arg("dy"), py::arg("ids"), py::arg("input_dim"), py::kw_only(),
        py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
}

}  // namespace forgenet::bind::cuda

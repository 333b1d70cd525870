#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/embedding.h"

namespace forgenet::bind {

namespace {

[[noreturn]] void bad_id(const char* op, const py::array& ids, int64_t k, int64_t vocab) {
  value_error(op, ": ids must be in [0, ", vocab, "), got ", iptr(ids)[k], " at flat index ", k);
}

// ids: int64 of any shape; embeddings (input_dim, output_dim) -> (*ids.shape, output_dim).
py::array_t<float> embedding(const py::handle& ids_in, const py::handle& table_in) {
  const char* op = "embedding";
  auto ids = checked(ids_in, op, "ids", -1, /*integer=*/true);
  auto table = checked(table_in, op, "embeddings", 2);
  const int64_t vocab = table.shape(0), dim = table.shape(1);
  auto shape = dims(ids);
  shape.push_back(dim);
  auto out = empty_f32(shape);
  int64_t bad;
  {
    py::gil_scoped_release nogil;
    bad = embedding_forward(iptr(ids), ids.size(), fptr(table), vocab, dim, fptr_mut(out));
  }
  if (bad >= 0) bad_id(op, ids, bad, vocab);
  return out;
}

py::array_t<float> embedding_backward(const py::handle& dy_in, const py::handle& ids_in, int64_t input_dim) {
  const char* op = "embedding_backward";
  auto dy = checked(dy_in, op, "dy", -1);
  auto ids = checked(ids_in, op, "ids", -1, /*integer=*/true);
  if (input_dim < 0) value_error(op, ": input_dim must be >= 0, got ", input_dim);
  if (dy.ndim() != ids.ndim() + 1 || !std::equal(ids.shape(), ids.shape() + ids.ndim(), dy.shape()))
    value_error(op, ": dy must have shape ids.shape + (output_dim,) with ids ", shape_str(ids), ", got ", shape_str(dy));
  const int64_t dim = dy.shape(dy.ndim() - 1);
  auto dtable = empty_f32({input_dim, dim});
  int64_t bad;
  {
    py::gil_scoped_release nogil;
    bad = forgenet::embedding_backward(fptr(dy), iptr(ids), ids.size(), input_dim, dim, fptr_mut(dtable));
  }
  if (bad >= 0) bad_id(op, ids, bad, input_dim);
  return dtable;
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding", &embedding, py::arg("ids"), py::arg("embeddings"));
  m.def("embedding_backward", &embedding_backward, py::arg("dy"), py::arg("ids"), py::arg("input_dim"));
}

}  // namespace forgenet::bind

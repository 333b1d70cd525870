// Embedding on numpy arrays: the contract (contracts/embedding.h) checks, this file allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/embedding.h"
#include "bindings/window_args.h"
#include "cpu/embedding.h"

namespace forgenet::bind {

namespace {

// ids: int64 of any shape; embeddings (input_dim, output_dim) -> (*ids.shape, output_dim).
py::array_t<float> embedding(const py::handle& ids_in, const py::handle& table_in, const py::handle& out_in) {
  const char* op = "embedding";
  const Arg ids(ids_in, op, "ids"), table(table_in, op, "embeddings");
  auto out = output(op, "the output", contract::embedding_forward(op, ids.d, table.d), out_in, 0, 1,
                    {{"ids", &ids.d}, {"embeddings", &table.d}});
  const int64_t vocab = table.d.dim(0);
  const int64_t bad = run(op, [&] {
    return embedding_forward(ids.i64(), ids.d.size(), table.f(), vocab, table.d.dim(1), fptr_mut(out));
  });
  if (bad >= 0) contract::bad_id(op, ids.i64(), bad, vocab);
  return out;
}

py::array_t<float> embedding_backward(const py::handle& dy_in, const py::handle& ids_in, const py::handle& input_dim_in,
                                      const py::handle& out) {
  const char* op = "embedding_backward";
  const Arg dy(dy_in, op, "dy"), ids(ids_in, op, "ids");
  const int64_t input_dim = int_arg(input_dim_in, op, "input_dim");
  auto dtable = output(op, "the gradient", contract::embedding_backward(op, dy.d, ids.d, input_dim), out, 0, 1,
                       {{"dy", &dy.d}, {"ids", &ids.d}});
  const int64_t bad = run(op, [&] {
    return forgenet::embedding_backward(dy.f(), ids.i64(), ids.d.size(), input_dim, dy.d.dim(-1), fptr_mut(dtable));
  });
  if (bad >= 0) contract::bad_id(op, ids.i64(), bad, input_dim);
  return dtable;
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding", &embedding, py::arg("ids"), py::arg("embeddings"), py::kw_only(), py::arg("out") = py::none());
  m.def("embedding_backward", &embedding_backward, py::arg("dy"), py::arg("ids"), py::arg("input_dim"), py::kw_only(),
        py::arg("out") = py::none());
}

}  // namespace forgenet::bind

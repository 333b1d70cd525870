// Contract of embedding / embedding_backward (both devices): ids int64 of any shape, embeddings
// (input_dim, output_dim) -> (*ids.shape, output_dim). Id ranges are checked by the kernels (they read
// the ids anyway), which report the first bad one.
#pragma once

#include "bindings/contracts/array.h"

namespace forgenet::contract {

inline Shape embedding_forward(const char* op, const ArrayDesc& ids, const ArrayDesc& table) {
  require(ids, op, "ids", DType::I64, -1);
  require(table, op, "embeddings", DType::F32, 2);
  Shape out = ids.shape;
  out.push_back(table.dim(1));
  output_size(op, "the output (*ids.shape, output_dim)", out);
  return out;
}

// Returns the table gradient's shape (input_dim, output_dim).
inline Shape embedding_backward(const char* op, const ArrayDesc& dy, const ArrayDesc& ids, int64_t input_dim) {
  require(dy, op, "dy", DType::F32, -1);
  require(ids, op, "ids", DType::I64, -1);
  if (input_dim < 0) value_error(op, ": input_dim must be >= 0, got ", input_dim);
  if (dy.ndim() != ids.ndim() + 1 || !std::equal(ids.shape.begin(), ids.shape.end(), dy.shape.begin()))
    value_error(op, ": dy must have shape ids.shape + (output_dim,) with ids ", shape_str(ids.shape), ", got ",
                shape_str(dy.shape));
  const Shape out{input_dim, dy.dim(-1)};
  output_size(op, "the gradient (input_dim, output_dim)", out);
  return out;
}

// What a kernel's report of the first bad id (its flat index k) becomes, for every caller.
[[noreturn]] inline void bad_id(const char* op, const int64_t* ids, int64_t k, int64_t vocab) {
  value_error(op, ": ids must be in [0, ", vocab, "), got ", ids[k], " at flat index ", k);
}

}  // namespace forgenet::contract

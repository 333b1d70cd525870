// Embedding lookup (a row gather) and its gradient (a scatter-add of rows).
#pragma once
#include <cstdint>

namespace forgenet {

// out[k, :] = table[ids[k], :] for k < n; table is (vocab, dim). Nothing is written unless every id
// is in [0, vocab); returns the position of the first bad id, or -1.
int64_t embedding_forward(const int64_t* ids, int64_t n, const float* table, int64_t vocab,
                          int64_t dim, float* out);

// dtable (vocab, dim) = sum over k with ids[k] == v of dy[k, :] (zero for unused rows). Same id check
// and return value as the forward. Deterministic: each row sums its contributions in order.
int64_t embedding_backward(const float* dy, const int64_t* ids, int64_t n, int64_t vocab,
                           int64_t dim, float* dtable);

}  // namespace forgenet

// Embedding: forward copies rows; backward scatter-adds rows. The scatter is race-free without
// atomics: thread k owns the table rows v with v % threads == k and scans all ids, adding only its
// own. Every thread reads every id (cheap: 8 bytes against dim floats of work per id), the modulo
// spreads skewed vocabularies (frequent small ids) over all threads, and each row's sum runs in id
// order, so the result does not depend on the thread count.
#include "cpu/embedding.h"


#include <algorithm>
#include <cstring>

#include "cpu/parallel.h"

namespace forgenet {

namespace {

// Copies and adds of rows are memory-bound: below ~4 MB a second thread gains microseconds, and
// waking it costs milliseconds on a busy machine (the text model's 32 x 40 x 64 batches were 100x slower)
constexpr int64_t kParallelFloats = int64_t(1) << 20;

int64_t first_bad(const int64_t* ids, int64_t n, int64_t vocab) {
  for (int64_t k = 0; k < n; ++k)
    if (ids[k] < 0 || ids[k] >= vocab) return k;
  return -1;
}

}  // namespace

int64_t embedding_forward(const int64_t* ids, int64_t n, const float* table, int64_t vocab,
                          int64_t dim, float* out) {
  const int64_t bad = first_bad(ids, n, vocab);
  if (bad >= 0) return bad;
  if (dim == 0) return -1;
  parallel_for(0, n, std::max<int64_t>(1, kParallelFloats / 2 / dim), [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) std::memcpy(out + k * dim, table + ids[k] * dim, dim * sizeof(float));
  });
  return -1;
}

int64_t embedding_backward(const float* dy, const int64_t* ids, int64_t n, int64_t vocab,
                           int64_t dim, float* dtable) {
  const int64_t bad = first_bad(ids, n, vocab);
  if (bad >= 0) return bad;
  if (vocab == 0 || dim == 0) return -1;  // an empty table: no loop over a huge input_dim
  // one part per thread, each a chunk of its own (grain 1)
  const int64_t nt = (n + vocab) * dim > kParallelFloats ? pool::max_threads() : 1;
  parallel_for(0, nt, 1, [&](int64_t id0, int64_t id1) {
    for (int64_t id = id0; id < id1; ++id) {
      for (int64_t v = id; v < vocab; v += nt) std::fill(dtable + v * dim, dtable + (v + 1) * dim, 0.0f);
      for (int64_t k = 0; k < n; ++k) {
        const int64_t v = ids[k];
        if (v % nt != id) continue;
        float* __restrict row = dtable + v * dim;
        const float* __restrict g = dy + k * dim;
#pragma omp simd
        for (int64_t j = 0; j < dim; ++j) row[j] += g[j];
      }
    }
  });
  return -1;
}

}  // namespace forgenet

// Pooling: the threads and the up-front zeroing here, the per-line loops in isa/pooling_kernels.cpp
// (built generic and avx2; see CMakeLists.txt for why no avx512). Threads take output lines (n, oh);
// backward passes that accumulate run in phases of lines whose windows share no input rows.
#include "cpu/pooling.h"

#include "common/checked.h"
#include "cpu/isa/pooling_kernels.h"
#include "cpu/parallel.h"

namespace forgenet {

namespace {

using pool::fill_zero;
using pool::owns_rows;

// Calls leaf(lines, t0, t1) over every output line, in parallel. With `exclusive`, lines whose windows
// share input rows are put in different phases, so the leaf may accumulate into those rows.
template <typename Leaf>
void for_lines(const Window2d& g, bool exclusive, Leaf&& leaf) {
  const int64_t phases = exclusive && g.sh < g.kh ? (g.kh + g.sh - 1) / g.sh : 1;
  // real window elements only (a 'same' window may be far larger than the input), saturating
  const int64_t work = mul_sat(mul_sat(g.wo, g.kh < g.h ? g.kh : g.h), mul_sat(g.kw < g.w ? g.kw : g.w, g.c));
  for (int64_t ph = 0; ph < phases; ++ph) {
    const pool::Lines lines{ph, phases, (g.ho - ph + phases - 1) / phases};
    parallel_for(0, g.n * lines.per_image, grain_for(work),
                 [&](int64_t t0, int64_t t1) { leaf(lines, t0, t1); });
  }
}

void zero_for_backward(const Window2d& g, float* dx) {
  const int64_t row = g.w * g.c;
  const bool all = !owns_rows(g);
  parallel_for(0, g.n * g.h, grain_for(row), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t s = t % g.h + g.pad_top;  // an input row ih is touched by output row s / SH
      if (all || s / g.sh >= g.ho || s % g.sh >= g.kh) fill_zero(dx + t * row, row);
    }
  });
}

// An empty output (or input) returns before any loop: with 0 channels H and W may be anything.
bool nothing_out(const Window2d& g) { return g.n == 0 || g.c == 0 || g.ho == 0 || g.wo == 0; }
bool nothing_in(const Window2d& g) { return g.n == 0 || g.c == 0 || g.h == 0 || g.w == 0; }

}  // namespace

void max_pool2d_forward(const Window2d& g, const float* x, float* y) {
  if (nothing_out(g)) return;
  for_lines(g, false, [&](const pool::Lines& l, int64_t t0, int64_t t1) {
    FORGENET_ISA_CALL_UPTO_AVX2(max_pool_lines, g, l, t0, t1, x, y);
  });
}

void max_pool2d_backward(const Window2d& g, const float* dy, const float* x, float* dx) {
  if (nothing_in(g)) return;
  zero_for_backward(g, dx);
  for_lines(g, true, [&](const pool::Lines& l, int64_t t0, int64_t t1) {
    FORGENET_ISA_CALL_UPTO_AVX2(max_pool_backward_lines, g, l, t0, t1, dy, x, dx);
  });
}

void avg_pool2d_forward(const Window2d& g, const float* x, float* y) {
  if (nothing_out(g)) return;
  for_lines(g, false, [&](const pool::Lines& l, int64_t t0, int64_t t1) {
    FORGENET_ISA_CALL_UPTO_AVX2(avg_pool_lines, g, l, t0, t1, x, y);
  });
}

void avg_pool2d_backward(const Window2d& g, const float* dy, float* dx) {
  if (nothing_in(g)) return;
  zero_for_backward(g, dx);
  for_lines(g, true, [&](const pool::Lines& l, int64_t t0, int64_t t1) {
    FORGENET_ISA_CALL_UPTO_AVX2(avg_pool_backward_lines, g, l, t0, t1, dy, dx);
  });
}

}  // namespace forgenet

// Attention's empty-input answers, its scratch and the dispatch to the per-ISA builds
// (isa/attention_kernels.cpp: the tile loops of attention_tiles.h over attention_simd.h's micro-kernels).
#include "cpu/attention.h"

#include <algorithm>

#include "common/workspace.h"
#include "cpu/attention_tiles.h"
#include "cpu/cpu_features.h"
#include "cpu/dispatch.h"

namespace forgenet {

float* attention_scratch(int64_t n, const char* what) {
  thread_local GrowBuffer arena;  // consistent after a failed growth: the next call retries
  if (n < 0) out_of_memory(what, -1);
  return arena.get(n, what);
}

int64_t attention_size_mul(int64_t a, int64_t b) {
  int64_t r;
  return a < 0 || b < 0 || !mul_fits(a, b, &r) ? -1 : r;
}

int64_t attention_size_add(int64_t a, int64_t b) {
  int64_t r;
  return a < 0 || b < 0 || !add_fits(a, b, &r) ? -1 : r;
}

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse) {
  if (s.bh == 0 || s.nq == 0) return;  // nothing to write, however large the other dimensions
  if (s.nk == 0) {  // no keys: o = 0, lse = -inf (torch's answer for an empty key set)
    std::fill(o, o + s.bh * s.nq * s.dv, 0.0f);
    if (lse) std::fill(lse, lse + s.bh * s.nq, kNegInf);
    return;
  }
  FORGENET_ISA_CALL(attention_forward_tiles, s, q, k, v, o, lse);
}

void attention_backward(const AttnShape& s, const float* do_, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, float* dq, float* dk,
                        float* dv) {
  if (s.bh == 0) return;
  if (s.nq == 0 || s.nk == 0) {  // no scores: every gradient is zero
    std::fill(dq, dq + s.bh * s.nq * s.d, 0.0f);
    std::fill(dk, dk + s.bh * s.nk * s.d, 0.0f);
    std::fill(dv, dv + s.bh * s.nk * s.dv, 0.0f);
    return;
  }
  FORGENET_ISA_CALL(attention_backward_tiles, s, do_, q, k, v, o, lse, dq, dk, dv);
}

}  // namespace forgenet

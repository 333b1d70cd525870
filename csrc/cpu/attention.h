// Fused softmax attention (FlashAttention style) on the CPU: scores are computed one Bq x Bk tile at
// a time with an online softmax, so memory stays O(N d) per head in both passes.
//
// Layouts (all row-major, contiguous): q (BH, Nq, d), k (BH, Nk, d), v (BH, Nk, dv), o (BH, Nq, dv),
// lse (BH, Nq). causal: query i sees keys j <= i (top-left aligned, as torch's is_causal=True).
// A row with no visible key (only when Nk == 0) gets o = 0, lse = -inf and zero gradients, which is
// what torch returns for an empty key set.
#pragma once
#include <cstdint>

#include "common/shapes.h"  // AttnShape
#include "cpu/dispatch.h"

namespace forgenet {

// Scratch for the tile loops (attention_tiles.h), defined once in attention.cpp: at least n floats,
// 64-byte aligned, one grow-only buffer per calling thread that outlives the call, so that steady-state
// calls map and fault in no memory. Contents are unspecified (the loops write before they read); what
// a thread has used stays allocated (its largest size so far) until the thread ends. OutOfMemory
// naming `what`; n < 0 means the size overflowed. attention_size_* return -1 on overflow (or when
// given -1).
float* attention_scratch(int64_t n, const char* what);
int64_t attention_size_mul(int64_t a, int64_t b);
int64_t attention_size_add(int64_t a, int64_t b);

// lse may be null when the caller does not need it.
void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse);

// do_ and o (BH, Nq, dv), lse (BH, Nq) from the forward; writes dq, dk, dv (dv_ is the gradient of v).
void attention_backward(const AttnShape& s, const float* do_, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, float* dq, float* dk,
                        float* dv_);


}  // namespace forgenet

// The per-ISA builds (isa/attention_kernels.cpp), chosen by best_isa(); same arguments as above.
FORGENET_ISA_DECLARE(void attention_forward_tiles(const AttnShape& s, const float* q, const float* k,
                                                  const float* v, float* o, float* lse))
FORGENET_ISA_DECLARE(void attention_backward_tiles(const AttnShape& s, const float* do_, const float* q,
                                                   const float* k, const float* v, const float* o,
                                                   const float* lse, float* dq, float* dk, float* dv))

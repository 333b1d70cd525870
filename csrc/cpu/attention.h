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

// The tile sizes of one ISA's build (isa/attention_kernels.cpp): register tile mr x nr, forward tile
// fwd_bq queries x fwd_bk keys, backward tile bq x bk.
struct AttnTiles {
  int64_t mr, nr, fwd_bq, fwd_bk, bq, bk;
};

// How attention.cpp cuts one forward call for the leaf loops (offsets and sizes in floats; every
// piece starts on 16 floats). A head's K and V are packed as nkb tiles of `tile` floats (K^T panels,
// then V panels); a thread working on query blocks of bq rows needs `work` floats: the scaled Q rows,
// the S tile at off_s, the O accumulator at off_o, then the row maxima and sums (bq each).
struct AttnFwdPlan {
  int64_t bq, dvp, nkb, tile, off_s, off_o, work;
};

// The same for the backward: a thread's slab of `stride` floats holds, at off[i], the query chunk's
// Q and dO panels (cq rows), the head's dQ accumulator (nqr x dp), `slots` key blocks of kbs floats,
// the S/P and dP/dS tiles, padded copies of a ragged last query block's Q and dO rows, and the row
// constants D (nq) followed by a query block's rows of lse and D (2 bq).
struct AttnBwdPlan {
  int64_t dp, dvp, nqr, nkb, cq, kbs, slots, off[8], stride;
};

// lse may be null when the caller does not need it.
void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse);

// do_ and o (BH, Nq, dv), lse (BH, Nq) from the forward; writes dq, dk, dv (dv_ is the gradient of v).
void attention_backward(const AttnShape& s, const float* do_, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, float* dq, float* dk,
                        float* dv_);


}  // namespace forgenet

// The per-ISA leaf loops (isa/attention_kernels.cpp, attention_tiles.h); threads and scratch stay
// with attention.cpp, which is compiled once (dispatch.h's rule).
FORGENET_ISA_DECLARE(AttnTiles attention_tiles())
// Packs key tiles [kb0, kb1) of head bh into kv (tile kb at kv + kb * p.tile).
FORGENET_ISA_DECLARE(void attention_fwd_pack(const AttnShape& s, const AttnFwdPlan& p, const float* k,
                                             const float* v, int64_t bh, int64_t kb0, int64_t kb1, float* kv))
// Query block qb (rows qb * p.bq ..) of head bh against the head's packed kv: its rows of o and lse.
FORGENET_ISA_DECLARE(void attention_fwd_block(const AttnShape& s, const AttnFwdPlan& p, const float* q,
                                              const float* kv, int64_t bh, int64_t qb, float* work, float* o,
                                              float* lse))
// Head bh's backward over the key blocks that `part` of `parts` owns: writes their dK, dV and leaves
// their share of the head's dQ, divided by the scale, in the slab's accumulator (p.off[2], rows of p.dp
// floats).
FORGENET_ISA_DECLARE(void attention_bwd_head(const AttnShape& s, const AttnBwdPlan& p, const float* do_,
                                             const float* q, const float* k, const float* v, const float* o,
                                             const float* lse, int64_t bh, int part, int parts, float* slab,
                                             float* dk, float* dv))

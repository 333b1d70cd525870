// Attention's empty-input answers, and how a call is cut into the per-ISA leaf loops
// (isa/attention_kernels.cpp: attention_tiles.h over attention_simd.h's micro-kernels), run on the
// one parallel_for with the one scratch arena.
#include "cpu/attention.h"

#include <algorithm>

#include "common/workspace.h"
#include "cpu/cpu_features.h"
#include "cpu/dispatch.h"
#include "cpu/parallel.h"

namespace forgenet {
namespace {

constexpr float kNegInf = -__builtin_inff();

// Sizes in floats; -1 is an overflow, and stays one through these.
int64_t size_mul(int64_t a, int64_t b) {
  int64_t r;
  return a < 0 || b < 0 || !mul_fits(a, b, &r) ? -1 : r;
}
int64_t size_add(int64_t a, int64_t b) {
  int64_t r;
  return a < 0 || b < 0 || !add_fits(a, b, &r) ? -1 : r;
}
int64_t round16(int64_t n) { return n < 0 ? -1 : size_mul((std::max<int64_t>(n, 1) + 15) / 16, 16); }
int64_t round_to(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

// Consecutive pieces of the given sizes, each on 16 floats: their offsets, and the total.
template <int N>
int64_t lay_out(const int64_t (&sizes)[N], int64_t* off) {
  int64_t total = 0;
  for (int i = 0; i < N; ++i) {
    off[i] = total;
    total = size_add(total, round16(sizes[i]));
  }
  return total;
}

// The frame's floats, or OutOfMemory naming `what` for a size that overflowed.
int64_t frame_floats(int64_t n, const char* what) {
  if (n < 0) out_of_memory(what, -1);
  return Scratch::floats(n);
}

// A packed head's K and V larger than this do not stay in L2 next to the tiles, so every query
// block streams them from L3: the forward then takes taller query blocks, which read them half as
// often per row.
constexpr int64_t kFwdHeadL2Bytes = 1 << 20;

// How much of L2 (512 KiB a core on the smallest L2 this targets, AMD Zen 2/3) one backward query
// chunk may take: its Q and dO rows, their packed panels and its rows of dQ. The rest holds the key
// block passing through (K^T, V^T, K panels, dK, dV: 120 KiB at Bk = 96, d = 64) and the S, dP tiles.
constexpr int64_t kBwdChunkBytes = 256 << 10;
// How many bytes of packed key blocks a thread streams past each chunk (a key span): small enough to
// stay in its share of a shared L3 next to the other threads' spans and other processes' data.
constexpr int64_t kBwdSpanBytes = 2 << 20;

// Owner of item i among n parts in snake order (0 1 .. n-1 n-1 .. 1 0 0 1 ..): items whose work falls
// with i balance.
int snake_owner(int64_t i, int n) {
  const int64_t r = i / n, p = i % n;
  return static_cast<int>(r % 2 ? n - 1 - p : p);
}

void forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o, float* lse) {
  const AttnTiles t = FORGENET_ISA_CALL(attention_tiles);
  const auto pack = FORGENET_ISA_PICK(attention_fwd_pack);
  const auto block = FORGENET_ISA_PICK(attention_fwd_block);
  AttnFwdPlan p{};
  p.dvp = round_to(s.dv, t.nr);
  p.nkb = (s.nk + t.fwd_bk - 1) / t.fwd_bk;
  p.tile = round16(size_mul(t.fwd_bk, size_add(s.d, p.dvp)));
  const int64_t head = size_mul(p.nkb, p.tile);
  const bool big = head < 0 || head > kFwdHeadL2Bytes / static_cast<int64_t>(sizeof(float));
  p.bq = t.fwd_bq * (big ? 2 : 1);
  int64_t off[3];
  p.work = lay_out({size_mul(p.bq, s.d), size_mul(p.bq, t.fwd_bk), size_mul(p.bq, p.dvp + 2)}, off);
  p.off_s = off[1];
  p.off_o = off[2];
  const int64_t nqb = (s.nq + p.bq - 1) / p.bq;
  const int64_t kv_floats = mul_sat(s.nk, s.d + s.dv);
  const int threads = pool::inside() ? 1 : pool::max_threads();
  const char* what = "attention's packed keys and tiles";

  if (threads == 1 || s.bh % threads == 0 || s.bh >= 4 * threads) {
    // Many heads: a thread takes a whole head at a time and packs it once (their work is equal). The
    // heads are claimed one by one (parallel_run): a thread the machine delays leaves its heads to
    // the others.
    const int64_t grain = grain_for(mul_sat(nqb, kv_floats));
    const int chunks = parallel_chunks(s.bh, grain);  // the threads that take part
    const int64_t stride = size_add(head, p.work);
    Scratch frame(frame_floats(size_mul(chunks, stride), what), what);
    float* const base = frame.take(size_mul(chunks, stride));
    parallel_run(static_cast<int>(s.bh), chunks, [&](int bh) {
      float* const kv = base + pool::slot() * stride;
      pack(s, p, k, v, bh, 0, p.nkb, kv);
      for (int64_t qb = 0; qb < nqb; ++qb) block(s, p, q, kv, bh, qb, kv + head, o, lse);
    });
    return;
  }
  // Few heads: the threads pack a head's keys together into one buffer (one copy in L3 where each
  // thread packing its own made two), then split its query blocks, the longest (causal) first in
  // snake order so that they balance. Two parallel regions a head: against a head's N^2 d work.
  const int chunks = parallel_chunks(nqb, grain_for(kv_floats));
  Scratch frame(frame_floats(size_add(head, size_mul(chunks, p.work)), what), what);
  float* const kv = frame.take(head);
  float* const work = frame.take(size_mul(chunks, p.work));
  for (int64_t bh = 0; bh < s.bh; ++bh) {
    parallel_for(0, p.nkb, grain_for(p.tile), [&](int64_t kb0, int64_t kb1) { pack(s, p, k, v, bh, kb0, kb1, kv); });
    parallel_for_chunks(0, chunks, 1, [&](int, int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t i = 0; i < nqb; ++i)
          if (snake_owner(i, chunks) == c) block(s, p, q, kv, bh, nqb - 1 - i, work + c * p.work, o, lse);
    });
  }
}

void backward(const AttnShape& s, const float* dout, const float* q, const float* k, const float* v,
              const float* o, const float* lse, float* dq, float* dk, float* dv) {
  const AttnTiles t = FORGENET_ISA_CALL(attention_tiles);
  const auto head_pass = FORGENET_ISA_PICK(attention_bwd_head);
  AttnBwdPlan p{};
  p.dp = round_to(s.d, t.nr);
  p.dvp = round_to(s.dv, t.nr);
  p.nqr = round_to(s.nq, t.mr);
  p.nkb = (s.nk + t.bk - 1) / t.bk;
  // The chunk: a whole number of query blocks (so that its blocks are the head's), at least one.
  const int64_t row_bytes = static_cast<int64_t>(sizeof(float)) * (s.d + s.dv + 2 * p.dp + p.dvp);
  const int64_t fit = kBwdChunkBytes / row_bytes / t.bq * t.bq;
  p.cq = std::min(round_to(s.nq, t.bq), std::max(fit, t.bq));
  // One key block: K^T, V^T and K panels, then its dK, dV accumulators; a part's span holds `slots`
  // of them (at least one).
  p.kbs = round16(t.bk * (s.d + s.dv + 2 * p.dp + p.dvp));
  const int64_t fit_blocks =
kBwdSpanBytes / (p.kbs * static_cast<int64_t>(sizeof(float)));
  p.slots = std::min(p.nkb, std::max<int64_t>(fit_blocks, 1));
  p.stride = lay_out({size_mul(p.cq, p.dp), size_mul(p.cq, p.dvp), size_mul(p.nqr, p.dp), size_mul(p.slots, p.kbs),
                      t.bq * t.bk, t.bq * t.bk, t.bq * (s.d + s.dv), size_add(s.nq, 2 * t.bq)},
                     p.off);
  const int threads = pool::inside() ? 1 : pool::max_threads();
  const char* what = "attention_backward's per-thread tiles";
  const int64_t d = s.d, nq = s.nq;
  const float scale = s.scale;  // the accumulators hold dQ / scale (attention_tiles.h)
  const bool by_head = threads == 1 || s.bh % threads == 0 || s.bh >= 4 * threads;

  if (by_head) {
    // Many heads: a thread takes a whole head at a time (claimed, as the forward's), and its
    // accumulator is the head's dQ.
    const int64_t grain = grain_for(mul_sat(mul_sat(s.nq, s.nk), s.d + s.dv) / std::max<int64_t>(p.cq, 1));
    const int chunks = parallel_chunks(s.bh, grain);
    Scratch frame(frame_floats(size_mul(chunks, p.stride), what), what);
    float* const base = frame.take(size_mul(chunks, p.stride));
    parallel_run(static_cast<int>(s.bh), chunks, [&](int bh) {
      float* const slab = base + pool::slot() * p.stride;
      const float* dqa = slab + p.off[2];
      head_pass(s, p, dout, q, k, v, o, lse, bh, 0, 1, slab, dk, dv);
      for (int64_t r = 0; r < nq; ++r)
        for (int64_t c = 0; c < d; ++c) dq[(bh * nq + r) * d + c] = dqa[r * p.dp + c] * scale;
    });
    return;
  }
  // Few heads: the threads split each head's key blocks, then sum their dQ accumulators.
  const int parts = static_cast<int>(std::min<int64_t>(threads, p.nkb));
  Scratch frame(frame_floats(size_mul(parts, p.stride), what), what);
  float* const base = frame.take(size_mul(parts, p.stride));
  for (int64_t bh = 0; bh < s.bh; ++bh) {
    parallel_for_chunks(0, parts, 1, [&](int, int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        head_pass(s, p, dout, q, k, v, o, lse, bh, static_cast<int>(c), parts, base + c * p.stride, dk, dv);
    });
    parallel_for(0, nq, grain_for(parts * d), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* out = dq + (bh * nq + r) * d;
        for (int64_t c = 0; c < d; ++c) {
          float acc = 0.0f;
          for (int part = 0; part < parts; ++part) acc += base[part * p.stride + p.off[2] + r * p.dp + c];
          out[c] = acc * scale;
        }
      }
    });
  }
}

}  // namespace

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse) {
  if (s.bh == 0 || s.nq == 0) return;  // nothing to write, however large the other dimensions
  if (s.nk == 0) {  // no keys: o = 0, lse = -inf (torch's answer for an empty key set)
    std::fill(o, o + s.bh * s.nq * s.dv, 0.0f);
    if (lse) std::fill(lse, lse + s.bh * s.nq, kNegInf);
    return;
  }
  forward(s, q, k, v, o, lse);
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
  backward(s, do_, q, k, v, o, lse, dq, dk, dv);
}

}  // namespace forgenet

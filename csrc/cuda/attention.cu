// Fused softmax attention, FlashAttention style: the Nq x Nk score matrix never exists, memory is O(N d).
//
// Every kernel runs 256 threads as a 16 x 16 grid (tx, ty) over one tile of BQ query rows x 64 keys. A
// thread holds a register block of that tile: rows ty*RM + i (RM = BQ/16) and keys tx + 16*jj (jj < 4).
// Products go through shared memory in three shapes, each staging its global operands in chunks:
//   tile_scores  S = A B^T over a row width (d or dv), A and B staged 32 columns at a time
//   acc_pb       out[BQ x DT] += P B           (P the BQ x 64 tile in shared memory; o, dQ)
//   acc_ptb      out[64 x DT] += P^T B         (dV, dK; the thread owns keys ty*4 + i)
// DT is the width of output columns a block computes (32, 64 or 128: DT/16 per thread); wider outputs
// are split over blockIdx.y, each split recomputing the scores. So any d and dv work: d only sets how
// many chunks a score product takes.
//
// Forward: a block owns BQ query rows and walks the key tiles with an online softmax (running max and
// sum per row, rescaling its output block), skipping tiles above the causal diagonal.
// Backward (FlashAttention-2 order, deterministic, no atomics): D = rowsum(dO * O); then one kernel per
// key tile walks the query tiles that see it, recomputes P = exp(scale * S - lse) and dS, and accumulates
// dV = P^T dO and dK = dS^T Q in registers; a second kernel per query tile recomputes them again to
// accumulate dQ = dS K. Shared-memory rows are padded so the register blocks' 16-byte reads and the
// tile stores are free of bank conflicts; cross-thread row reductions go through shared memory.
#include "cuda/attention.h"
#include "cuda/common.cuh"

#include <math.h>

#ifdef FORGENET_CUDA_EMU
#define FORGENET_ALIGN16 __attribute__((aligned(16)))
#else
#define FORGENET_ALIGN16 __align__(16)
#endif

namespace forgenet::gpu {

namespace {

constexpr int kT = 256;                   // threads per block, 16 x 16
constexpr int kBK = 64;                   // keys per tile
constexpr int kKC = 32;                   // columns per staged chunk of a score product
constexpr int kKS = kKC + 4;              // its row stride: rows 16 apart land 4 banks apart, 16-byte aligned
constexpr int kStage = (64 + kBK) * kKS;  // floats staged at once: fits every use below

// Stride of the P tile: the two rows a warp touches (RM apart) start 16 banks apart.
template <int RM>
constexpr int kPS = kBK + 16 / RM;

// Output column u (< CPT) of thread tx: runs of 4 (or CPT) contiguous columns, so reads are 16 bytes.
template <int CPT>
__device__ __forceinline__ int col_of(int tx, int u) {
  constexpr int W = CPT < 4 ? CPT : 4;
  return (u / 4) * 64 + tx * W + u % 4;
}

// dst[r * LD + c] = M[r0 + r][c0 + c] for r < ROWS, c < COLS, 0 outside M (row-major, rows x width). Each
// thread copies one column, rows kT/COLS apart, so a warp reads runs of contiguous floats.
template <int ROWS, int COLS, int LD>
__device__ __forceinline__ void stage_tile(float* dst, const float* __restrict__ M, int64_t rows, int64_t width,
                                           int64_t r0, int64_t c0) {
  constexpr int STEP = kT / COLS;
  static_assert(kT % COLS == 0 && ROWS % STEP == 0, "the tile must split evenly among the threads");
  const int c = threadIdx.x % COLS, r = threadIdx.x / COLS;
  const bool col_ok = c0 + c < width;
  const int64_t left = rows - r0 - r;  // rows of M from this thread's first one on
  const float* src = M + (r0 + r) * width + c0 + c;
#pragma unroll
  for (int t = 0; t < ROWS / STEP; ++t)
    dst[(r + t * STEP) * LD + c] = col_ok && t * STEP < left ? src[t * STEP * width] : 0.0f;
}

// acc[i][jj] = sum over c < width of A[a0 + ty*RM + i][c] * B[b0 + tx + 16*jj][c]: a BQ x 64 score tile.
// A and B are row-major with `width` columns; rows past a_rows / b_rows and columns past width stage as 0.
template <int RM>
__device__ inline void tile_scores(float (&acc)[RM][4], const float* __restrict__ A, int64_t a_rows, int64_t a0,
                                   const float* __restrict__ B, int64_t b_rows, int64_t b0, int64_t width,
                                   float* stage) {
  constexpr int BQ = 16 * RM;
  float* As = stage;
  float* Bs = stage + BQ * kKS;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
#pragma unroll
  for (int i = 0; i < RM; ++i)
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) acc[i][jj] = 0.0f;
  for (int64_t c0 = 0; c0 < width; c0 += kKC) {
    const int cn = static_cast<int>(width - c0 < kKC ? width - c0 : kKC);
    stage_tile<BQ, kKC, kKS>(As, A, a_rows, width, a0, c0);
    stage_tile<kBK, kKC, kKS>(Bs, B, b_rows, width, b0, c0);
    __syncthreads();
    auto step = [&](int c) {
      float a[RM][4], b[4][4];
#pragma unroll
      for (int i = 0; i < RM; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) a[i][e] = As[(ty * RM + i) * kKS + c + e];
#pragma unroll
      for (int jj = 0; jj < 4; ++jj)
#pragma unroll
        for (int e = 0; e < 4; ++e) b[jj][e] = Bs[(tx + 16 * jj) * kKS + c + e];
#pragma unroll
      for (int e = 0; e < 4; ++e)
#pragma unroll
        for (int i = 0; i < RM; ++i)
#pragma unroll
          for (int jj = 0; jj < 4; ++jj) acc[i][jj] = fmaf(a[i][e], b[jj][e], acc[i][jj]);
    };
    if (cn == kKC) {
#pragma unroll
      for (int c = 0; c < kKC; c += 4) step(c);
    } else {  // the last chunk of a width that is not a multiple of 32 (its zero padding reaches a multiple of 4)
      for (int c = 0; c < cn; c += 4) step(c);
    }
    __syncthreads();
  }
}

// acc[i][u] += sum over the tile's 64 keys j of P[ty*RM + i][j] * B[b0 + j][col0 + col_of(u)]: P (BQ x 64,
// stride kPS) in shared memory, B (row-major, `width` columns) staged VK keys x DT columns at a time.
// Keys past b_rows must have P = 0; their B rows are skipped or staged as 0.
template <int RM, int DT>
__device__ inline void acc_pb(float (&acc)[RM][DT / 16], const float* Ps, const float* __restrict__ B,
                              int64_t b_rows, int64_t b0, int64_t width, int64_t col0, float* stage) {
  constexpr int CPT = DT / 16, VK = DT <= 64 ? 64 : 32, PS = kPS<RM>;
  static_assert(VK * DT <= kStage, "B chunk must fit the staging buffer");
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  for (int j0 = 0; j0 < kBK && b0 + j0 < b_rows; j0 += VK) {  // the same for every thread
    stage_tile<VK, DT, DT>(stage, B, b_rows, width, b0 + j0, col0);
    __syncthreads();
#pragma unroll 2
    for (int j = 0; j < VK; j += 4) {
      float p[RM][4];
#pragma unroll
      for (int i = 0; i < RM; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) p[i][e] = Ps[(ty * RM + i) * PS + j0 + j + e];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float b[CPT];
#pragma unroll
        for (int u = 0; u < CPT; ++u) b[u] = stage[(j + e) * DT + col_of<CPT>(tx, u)];
#pragma unroll
        for (int i = 0; i < RM; ++i)
#pragma unroll
          for (int u = 0; u < CPT; ++u) acc[i][u] = fmaf(p[i][e], b[u], acc[i][u]);
      }
    }
    __syncthreads();
  }
}

// acc[i][u] += sum over the BQ rows r of P[r][ty*4 + i] * B[a0 + r][col0 + col_of(u)]: P^T B, B (row-major,
// `width` columns) staged whole (BQ x DT). Rows past a_rows must have P = 0; they are skipped.
template <int RM, int DT>
__device__ inline void acc_ptb(float (&acc)[4][DT / 16], const float* Ps, const float* __restrict__ B,
                               int64_t a_rows, int64_t a0, int64_t width, int64_t col0, float* stage) {
  constexpr int BQ = 16 * RM, CPT = DT / 16, PS = kPS<RM>;
  static_assert(BQ * DT <= kStage, "B tile must fit the staging buffer");
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  stage_tile<BQ, DT, DT>(stage, B, a_rows, width, a0, col0);
  __syncthreads();
  const int rn = static_cast<int>(a_rows - a0 < BQ ? a_rows - a0 : BQ);
#pragma unroll 4
  for (int r = 0; r < rn; ++r) {
    float p[4], b[CPT];
#pragma unroll
    for (int i = 0; i < 4; ++i) p[i] = Ps[r * PS + ty * 4 + i];
#pragma unroll
    for (int u = 0; u < CPT; ++u) b[u] = stage[r * DT + col_of<CPT>(tx, u)];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int u = 0; u < CPT; ++u) acc[i][u] = fmaf(p[i], b[u], acc[i][u]);
  }
  __syncthreads();
}

__device__ __forceinline__ bool visible(AttnShape s, int64_t r, int64_t j) {
  return r < s.nq && j < s.nk && !(s.causal && j > r);
}

// Grid: x = bh * query tiles (the last tiles, busiest when causal, first), y = DT-wide splits of dv.
template <int BQ, int DT>
__global__ void __launch_bounds__(kT) attn_forward_kernel(AttnShape s, const float* __restrict__ q,
                                                          const float* __restrict__ k, const float* __restrict__ v,
                                                          float* __restrict__ o, float* __restrict__ lse) {
  constexpr int RM = BQ / 16, CPT = DT / 16, PS = kPS<RM>;
  __shared__ FORGENET_ALIGN16 float stage[kStage];
  __shared__ FORGENET_ALIGN16 float Ps[BQ * PS];
  __shared__ float red[BQ * 17];  // per-row partials of the 16 threads that share the row
  __shared__ float row_shift[BQ], row_alpha[BQ];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t nqt = (s.nq + BQ - 1) / BQ;
  const int64_t bh = blockIdx.x / nqt, q0 = (nqt - 1 - blockIdx.x % nqt) * BQ;
  const int64_t col0 = static_cast<int64_t>(blockIdx.y) * DT;
  const float* qh = q + bh * s.nq * s.d;
  const float* kh = k + bh * s.nk * s.d;
  const float* vh = v + bh * s.nk * s.dv;

  float m = -INFINITY, l = 0.0f;  // running max and sum of row tid (threads tid < BQ)
  float acc[RM][CPT];
#pragma unroll
  for (int i = 0; i < RM; ++i)
#pragma unroll
    for (int u = 0; u < CPT; ++u) acc[i][u] = 0.0f;
  const int64_t kend = s.causal ? (s.nk < q0 + BQ ? s.nk : q0 + BQ) : s.nk;
  for (int64_t k0 = 0; k0 < kend; k0 += kBK) {
    float sc[RM][4];
    tile_scores<RM>(sc, qh, s.nq, q0, kh, s.nk, k0, s.d, stage);
#pragma unroll
    for (int i = 0; i < RM; ++i) {
      const int64_t r = q0 + ty * RM + i;
      float mx = -INFINITY;
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
        const int64_t j = k0 + tx + 16 * jj;
        sc[i][jj] = (j < s.nk && !(s.causal && j > r)) ? sc[i][jj] * s.scale : -INFINITY;
        mx = fmaxf(mx, sc[i][jj]);
      }
      red[(ty * RM + i) * 17 + tx] = mx;
    }
    __syncthreads();
    if (tid < BQ) {
      float mx = -INFINITY;
      for (int t = 0; t < 16; ++t) mx = fmaxf(mx, red[tid * 17 + t]);
      const float mnew = fmaxf(m, mx);
      // A row that has seen no key yet keeps m = -inf; shift by 0 then so that exp(-inf) stays 0.
      const float shift = mnew == -INFINITY ? 0.0f : mnew;
      row_alpha[tid] = m == mnew ? 1.0f : m == -INFINITY ? 0.0f : expf(m - shift);
      row_shift[tid] = shift;
      m = mnew;
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < RM; ++i) {
      const int row = ty * RM + i;
      const float shift = row_shift[row], alpha = row_alpha[row];
      float sum = 0.0f;
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
        const float p = expf(sc[i][jj] - shift);
        Ps[row * PS + tx + 16 * jj] = p;
        sum += p;
      }
      red[row * 17 + tx] = sum;
#pragma unroll
      for (int u = 0; u < CPT; ++u) acc[i][u] *= alpha;
    }
    __syncthreads();
    if (tid < BQ) {
      float sum = 0.0f;
      for (int t = 0; t < 16; ++t) sum += red[tid * 17 + t];
      l = l * row_alpha[tid] + sum;
    }
    acc_pb<RM, DT>(acc, Ps, vh, s.nk, k0, s.dv, col0, stage);
  }
  if (tid < BQ) {
    row_shift[tid] = l > 0.0f ? 1.0f / l : 0.0f;
    if (lse && blockIdx.y == 0 && q0 + tid < s.nq) lse[bh * s.nq + q0 + tid] = l > 0.0f ? m + logf(l) : -INFINITY;
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < RM; ++i) {
    const int64_t r = q0 + ty * RM + i;
    if (r >= s.nq) continue;
    const float inv = row_shift[ty * RM + i];
    float* orow = o + (bh * s.nq + r) * s.dv;
#pragma unroll
    for (int u = 0; u < CPT; ++u) {
      const int64_t c = col0 + col_of<CPT>(tx, u);
      if (c < s.dv) orow[c] = acc[i][u] * inv;
    }
  }
}

// D[r] = rowsum(dO * O), the softmax backward's per-row constant, in double as on the CPU.
__global__ void __launch_bounds__(kThreads) row_dots_kernel(const float* __restrict__ a, const float* __restrict__ b,
                                                            float* __restrict__ out, int64_t rows, int64_t cols) {
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double acc = 0.0;
    for (int64_t c = 0; c < cols; ++c) acc += static_cast<double>(a[r * cols + c]) * b[r * cols + c];
    out[r] = static_cast<float>(acc);
  }
}

// The scores of one BQ x 64 tile, then P = exp(scale * S - lse) (0 where not visible) into sc and
// dS = scale * P * (dP - D) into dp. lr, dr: lse and D of the thread's rows.
template <int RM>
__device__ inline void tile_grads(AttnShape s, float (&sc)[RM][4], float (&dp)[RM][4], const float (&lr)[RM],
                                  const float (&dr)[RM], const float* qh, const float* kh, const float* doh,
                                  const float* vh, int64_t q0, int64_t k0, float* stage) {
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  tile_scores<RM>(sc, qh, s.nq, q0, kh, s.nk, k0, s.d, stage);
  tile_scores<RM>(dp, doh, s.nq, q0, vh, s.nk, k0, s.dv, stage);
#pragma unroll
  for (int i = 0; i < RM; ++i)
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      // Masked after the exp (a negative scale would turn -inf scores into +inf).
      const float p = visible(s, q0 + ty * RM + i, k0 + tx + 16 * jj) ? expf(s.scale * sc[i][jj] - lr[i]) : 0.0f;
      sc[i][jj] = p;
      dp[i][jj] = s.scale * p * (dp[i][jj] - dr[i]);
    }
}

// The thread's register block of a BQ x 64 tile into P (stride kPS).
template <int RM>
__device__ __forceinline__ void store_tile(float* Ps, const float (&t)[RM][4]) {
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
#pragma unroll
  for (int i = 0; i < RM; ++i)
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) Ps[(ty * RM + i) * kPS<RM> + tx + 16 * jj] = t[i][jj];
}

template <int RM>
__device__ inline void row_consts(AttnShape s, const float* lse, const float* dl, int64_t bh, int64_t q0,
                                  float (&lr)[RM], float (&dr)[RM]) {
  const int ty = threadIdx.x / 16;
#pragma unroll
  for (int i = 0; i < RM; ++i) {
    const int64_t r = q0 + ty * RM + i;
    lr[i] = r < s.nq ? lse[bh * s.nq + r] : 0.0f;
    dr[i] = r < s.nq ? dl[bh * s.nq + r] : 0.0f;
  }
}

// dV and dK of one key tile. Grid: x = bh * key tiles, y = DT-wide splits of max(d, dv). Left alone, ptxas
// gives it ~200 registers (one block per SM); capped at 128 it spills a few loop-invariant values instead.
template <int BQ, int DT>
__global__ void __launch_bounds__(kT, 2) attn_dkdv_kernel(AttnShape s, const float* __restrict__ dout,
                                                       const float* __restrict__ q, const float* __restrict__ k,
                                                       const float* __restrict__ v, const float* __restrict__ lse,
                                                       const float* __restrict__ dl, float* __restrict__ dk,
                                                       float* __restrict__ dv) {
  constexpr int RM = BQ / 16, CPT = DT / 16, PS = kPS<RM>;
  __shared__ FORGENET_ALIGN16 float stage[kStage];
  __shared__ FORGENET_ALIGN16 float Ps[BQ * PS];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t nkt = (s.nk + kBK - 1) / kBK;
  const int64_t bh = blockIdx.x / nkt, k0 = (blockIdx.x % nkt) * kBK;
  const int64_t col0 = static_cast<int64_t>(blockIdx.y) * DT;
  const float* qh = q + bh * s.nq * s.d;
  const float* kh = k + bh * s.nk * s.d;
  const float* vh = v + bh * s.nk * s.dv;
  const float* doh = dout + bh * s.nq * s.dv;

  float dka[4][CPT], dva[4][CPT];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int u = 0; u < CPT; ++u) dka[i][u] = dva[i][u] = 0.0f;
  // Causal: queries before k0 see none of these keys.
  for (int64_t q0 = s.causal ? k0 / BQ * BQ : 0; q0 < s.nq; q0 += BQ) {
    float lr[RM], dr[RM], sc[RM][4], dp[RM][4];
    row_consts<RM>(s, lse, dl, bh, q0, lr, dr);
    tile_grads<RM>(s, sc, dp, lr, dr, qh, kh, doh, vh, q0, k0, stage);
    // Both conditions are the same for every thread; each write of Ps follows the last read's barrier.
    if (col0 < s.dv) {
      store_tile<RM>(Ps, sc);
      __syncthreads();
      acc_ptb<RM, DT>(dva, Ps, doh, s.nq, q0, s.dv, col0, stage);
    }
    if (col0 < s.d) {
      store_tile<RM>(Ps, dp);
      __syncthreads();
      acc_ptb<RM, DT>(dka, Ps, qh, s.nq, q0, s.d, col0, stage);
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t j = k0 + ty * 4 + i;
    if (j >= s.nk) continue;
#pragma unroll
    for (int u = 0; u < CPT; ++u) {
      const int64_t c = col0 + col_of<CPT>(tx, u);
      if (c < s.d) dk[(bh * s.nk + j) * s.d + c] = dka[i][u];
      if (c < s.dv) dv[(bh * s.nk + j) * s.dv + c] = dva[i][u];
    }
  }
}

// dQ of one query tile. Grid: x = bh * query tiles, y = DT-wide splits of d.
template <int BQ, int DT>
__global__ void __launch_bounds__(kT) attn_dq_kernel(AttnShape s, const float* __restrict__ dout,
                                                     const float* __restrict__ q, const float* __restrict__ k,
                                                     const float* __restrict__ v, const float* __restrict__ lse,
                                                     const float* __restrict__ dl, float* __restrict__ dq) {
  constexpr int RM = BQ / 16, CPT = DT / 16, PS = kPS<RM>;
  __shared__ FORGENET_ALIGN16 float stage[kStage];
  __shared__ FORGENET_ALIGN16 float Ps[BQ * PS];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t nqt = (s.nq + BQ - 1) / BQ;
  const int64_t bh = blockIdx.x / nqt, q0 = (nqt - 1 - blockIdx.x % nqt) * BQ;
  const int64_t col0 = static_cast<int64_t>(blockIdx.y) * DT;
  const float* qh = q + bh * s.nq * s.d;
  const float* kh = k + bh * s.nk * s.d;
  const float* vh = v + bh * s.nk * s.dv;
  const float* doh = dout + bh * s.nq * s.dv;

  float lr[RM], dr[RM], acc[RM][CPT];
  row_consts<RM>(s, lse, dl, bh, q0, lr, dr);
#pragma unroll
  for (int i = 0; i < RM; ++i)
#pragma unroll
    for (int u = 0; u < CPT; ++u) acc[i][u] = 0.0f;
  const int64_t kend = s.causal ? (s.nk < q0 + BQ ? s.nk : q0 + BQ) : s.nk;
  for (int64_t k0 = 0; k0 < kend; k0 += kBK) {
    float sc[RM][4], dp[RM][4];
    tile_grads<RM>(s, sc, dp, lr, dr, qh, kh, doh, vh, q0, k0, stage);  // ends behind a barrier
    store_tile<RM>(Ps, dp);
    __syncthreads();
    acc_pb<RM, DT>(acc, Ps, kh, s.nk, k0, s.d, col0, stage);
  }
#pragma unroll
  for (int i = 0; i < RM; ++i) {
    const int64_t r = q0 + ty * RM + i;
    if (r >= s.nq) continue;
#pragma unroll
    for (int u = 0; u < CPT; ++u) {
      const int64_t c = col0 + col_of<CPT>(tx, u);
      if (c < s.d) dq[(bh * s.nq + r) * s.d + c] = acc[i][u];
    }
  }
}

// Grid of `tiles` blocks along x (bh * row tiles) and `splits` along y, or false when CUDA cannot take it.
inline bool grid_of(int64_t tiles, int64_t splits, dim3* grid) {
  if (tiles > 0x7fffffff || splits > 65535) return false;
  *grid = dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  return true;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The output-column width per block: 32, 64, or 128 with a split over blockIdx.y past 128.
inline int width_for(int64_t n) { return n <= 32 ? 32 : n <= 64 ? 64 : 128; }

template <int BQ, int DT>
cudaError_t forward_with(const AttnShape& s, const float* q, const float* k, const float* v, float* o, float* lse,
                         cudaStream_t stream) {
  dim3 grid;
  if (!grid_of(s.bh * ceil_div(s.nq, BQ), s.dv > 0 ? ceil_div(s.dv, DT) : 1, &grid)) return cudaErrorInvalidValue;
  auto* kernel = &attn_forward_kernel<BQ, DT>;
  FORGENET_LAUNCH(kernel, grid, kT, stream, s, q, k, v, o, lse);
  return launch_status();
}

template <int BQ, int DT>
cudaError_t dkdv_with(const AttnShape& s, const float* dout, const float* q, const float* k, const float* v,
                      const float* lse, const float* dl, float* dk, float* dv, cudaStream_t stream) {
  dim3 grid;
  const int64_t w = s.d > s.dv ? s.d : s.dv;
  if (!grid_of(s.bh * ceil_div(s.nk, kBK), ceil_div(w, DT), &grid)) return cudaErrorInvalidValue;
  auto* kernel = &attn_dkdv_kernel<BQ, DT>;
  FORGENET_LAUNCH(kernel, grid, kT, stream, s, dout, q, k, v, lse, dl, dk, dv);
  return launch_status();
}

template <int BQ, int DT>
cudaError_t dq_with(const AttnShape& s, const float* dout, const float* q, const float* k, const float* v,
                    const float* lse, const float* dl, float* dq, cudaStream_t stream) {
  dim3 grid;
  if (!grid_of(s.bh * ceil_div(s.nq, BQ), ceil_div(s.d, DT), &grid)) return cudaErrorInvalidValue;
  auto* kernel = &attn_dq_kernel<BQ, DT>;
  FORGENET_LAUNCH(kernel, grid, kT, stream, s, dout, q, k, v, lse, dl, dq);
  return launch_status();
}

}  // namespace

cudaError_t attention_forward(const AttnShape& s, const float* q, const float* k, const float* v, float* o,
                              float* lse, cudaStream_t stream) {
  if (s.bh <= 0 || s.nq <= 0) return cudaSuccess;
  switch (width_for(s.dv)) {
    case 32: return forward_with<64, 32>(s, q, k, v, o, lse, stream);
    case 64: return forward_with<64, 64>(s, q, k, v, o, lse, stream);
    default: return forward_with<32, 128>(s, q, k, v, o, lse, stream);
  }
}

int64_t attention_backward_workspace_floats(const AttnShape& s) { return s.bh * s.nq; }

cudaError_t attention_backward(const AttnShape& s, const float* dout, const float* q, const float* k, const float* v,
                               const float* o, const float* lse, float* dq, float* dk, float* dv, float* ws,
                               int64_t ws_floats, cudaStream_t stream) {
  if (s.bh <= 0) return cudaSuccess;
  if (ws_floats < attention_backward_workspace_floats(s)) return cudaErrorInvalidValue;
  cudaError_t err = cudaSuccess;
  if (s.nq > 0) {
    FORGENET_LAUNCH(row_dots_kernel, blocks_for(s.bh * s.nq), kThreads, stream, dout, o, ws, s.bh * s.nq, s.dv);
    if ((err = launch_status()) != cudaSuccess) return err;
    switch (width_for(s.d)) {  // with no keys this writes dQ = 0
      case 32: err = dq_with<64, 32>(s, dout, q, k, v, lse, ws, dq, stream); break;
      case 64: err = dq_with<64, 64>(s, dout, q, k, v, lse, ws, dq, stream); break;
      default: err = dq_with<32, 128>(s, dout, q, k, v, lse, ws, dq, stream); break;
    }
    if (err != cudaSuccess) return err;
  }
  if (s.nk > 0) {  // with no queries this writes dK = dV = 0
    switch (width_for(s.d > s.dv ? s.d : s.dv)) {
      case 32: return dkdv_with<64, 32>(s, dout, q, k, v, lse, ws, dk, dv, stream);
      case 64: return dkdv_with<64, 64>(s, dout, q, k, v, lse, ws, dk, dv, stream);
      default: return dkdv_with<32, 128>(s, dout, q, k, v, lse, ws, dk, dv, stream);
    }
  }
  return err;
}

}  // namespace forgenet::gpu

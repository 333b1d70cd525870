// SGEMM: shared-memory tiles with register blocking (the classic CUDA SGEMM). A block computes a BM x BN
// tile of out with (BM/TM) x (BN/TN) threads; each thread keeps a TM x TN block of accumulators in
// registers, its rows strided by BM/TM and its columns by BN/TN, so shared-memory reads are broadcasts
// or conflict-free and the final stores are coalesced. Per BK-deep step the block stages op(A)'s
// BM x BK and op(B)'s BK x BN tiles in shared memory (k-major, padded against bank conflicts, double
// buffered), loading along whichever axis is contiguous in global memory for the given transpose. Out-of-range elements
// load as zero, so any M, N, K works.
//
// When M x N gives too few tiles to fill the GPU (e.g. dkernel of a conv: M = KH*KW*Cin, N = Cout,
// K = all output pixels) K is split across blockIdx.z into a workspace, and a second kernel adds the
// partial products in a fixed order (deterministic) and applies alpha / beta.
#include "cuda/common.cuh"
#include "cuda/gemm.h"

#include <algorithm>

namespace forgenet::gpu {

namespace {

constexpr int64_t kTargetBlocks = 264;  // ~2 blocks per SM on an H100/H200 (132 SMs)
constexpr int64_t kMinSplitK = 512;      // fewest k per split worth a separate pass
constexpr int64_t kMaxSplits = 64;

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    sgemm_kernel(int64_t M, int64_t N, int64_t K, int64_t k_per_split, float alpha, const float* __restrict__ A,
                 int64_t lda, const float* __restrict__ B, int64_t ldb, float beta, const float* c, int64_t ldc,
                 float* out, int64_t ldo, float* partial) {
  constexpr int TY = BM / TM, TX = BN / TN, NT = TY * TX;
  constexpr int LA = BM * BK / NT, LB = BK * BN / NT;  // tile elements each thread stages per step
  static_assert(BM % TM == 0 && BN % TN == 0, "tile must divide evenly among threads");
  static_assert(BM * BK % NT == 0 && BK * BN % NT == 0, "tile loads must divide evenly among threads");
  __shared__ float As[2][BK][BM + 4];
  __shared__ float Bs[2][BK][BN + 4];
  const int tid = threadIdx.x, tx = tid % TX, ty = tid / TX;
  // every (m, n) tile in grid.x (limit 2^31 - 1; grid.y's 65535 would cap N at 4M columns), m fastest
  const int64_t mtiles = (M + BM - 1) / BM;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) % mtiles * BM, n0 = static_cast<int64_t>(blockIdx.x) / mtiles * BN;
  const int64_t k_begin = static_cast<int64_t>(blockIdx.z) * k_per_split;
  const int64_t k_end = k_begin + k_per_split < K ? k_begin + k_per_split : K;

  // Tile element e of op(A) is (m, k) with the contiguous axis of A fastest; likewise for op(B).
  float ra[LA], rb[LB];
  auto load = [&](int64_t k0) {  // global -> registers
    for (int r = 0; r < LA; ++r) {
      const int e = tid + r * NT, mm = TA ? e % BM : e / BK, kk = TA ? e / BM : e % BK;
      const int64_t gm = m0 + mm, gk = k0 + kk;
      ra[r] = (gm < M && gk < k_end) ? (TA ? A[gk * lda + gm] : A[gm * lda + gk]) : 0.0f;
    }
    for (int r = 0; r < LB; ++r) {
      const int e = tid + r * NT, nn = TB ? e / BK : e % BN, kk = TB ? e % BK : e / BN;
      const int64_t gn = n0 + nn, gk = k0 + kk;
      rb[r] = (gn < N && gk < k_end) ? (TB ? B[gn * ldb + gk] : B[gk * ldb + gn]) : 0.0f;
    }
  };
  auto store = [&](int buf) {  // registers -> shared, k-major
    for (int r = 0; r < LA; ++r) {
      const int e = tid + r * NT, mm = TA ? e % BM : e / BK, kk = TA ? e / BM : e % BK;
      As[buf][kk][mm] = ra[r];
    }
    for (int r = 0; r < LB; ++r) {
      const int e = tid + r * NT, nn = TB ? e / BK : e % BN, kk = TB ? e % BK : e / BN;
      Bs[buf][kk][nn] = rb[r];
    }
  };

  float acc[TM][TN];
  for (int i = 0; i < TM; ++i)
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  // Double buffering: while the block multiplies the tiles in buffer `buf`, the next tiles travel from
  // global memory into registers and then into the other buffer, which no thread reads during this
  // step (its last readers finished before the previous barrier). One barrier per step.
  int buf = 0;
  if (k_begin < k_end) {
    load(k_begin);
    store(0);
  }
  __syncthreads();
  for (int64_t k0 = k_begin; k0 < k_end; k0 += BK) {
    const bool more = k0 + BK < k_end;  // the same for every thread of the block
    if (more) load(k0 + BK);
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a[TM], b[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) a[i] = As[buf][kk][ty + i * TY];
#pragma unroll
      for (int j = 0; j < TN; ++j) b[j] = Bs[buf][kk][tx + j * TX];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) store(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }

  for (int i = 0; i < TM; ++i) {
    const int64_t gm = m0 + ty + i * TY;
    if (gm >= M) continue;
    for (int j = 0; j < TN; ++j) {
      const int64_t gn = n0 + tx + j * TX;
      if (gn >= N) continue;
      if (partial) {
        partial[static_cast<int64_t>(blockIdx.z) * M * N + gm * N + gn] = acc[i][j];
      } else {
        float v = alpha * acc[i][j];
        if (beta != 0.0f) v += beta * c[gm * ldc + gn];
        out[gm * ldo + gn] = v;
      }
    }
  }
}

// out = alpha * sum_s partial[s] + beta * c, the splits added in order.
__global__ void __launch_bounds__(kThreads) splitk_reduce(int64_t M, int64_t N, int64_t splits,
                                                          const float* __restrict__ partial, float alpha, float beta,
                                                          const float* c, int64_t ldc, float* out, int64_t ldo) {
  const int64_t total = M * N;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = 0.0f;
    for (int64_t p = 0; p < splits; ++p) s += partial[p * total + e];
    const int64_t m = e / N, n = e % N;
    float v = alpha * s;
    if (beta != 0.0f) v += beta * c[m * ldc + n];
    out[m * ldo + n] = v;
  }
}

struct Config {
  int bm, bn;
};
// 128 x 128 tiles (8 x 8 per thread) when they alone give enough blocks, else 64 x 64 (4 x 4).
inline Config pick(int64_t M, int64_t N) {
  const int64_t big = ((M + 127) / 128) * ((N + 127) / 128);
  return big >= kTargetBlocks / 2 ? Config{128, 128} : Config{64, 64};
}

inline int64_t tiles(const Config& cfg, int64_t M, int64_t N) {
  return ((M + cfg.bm - 1) / cfg.bm) * ((N + cfg.bn - 1) / cfg.bn);
}

inline int64_t wanted_splits(int64_t M, int64_t N, int64_t K) {
  const int64_t t = tiles(pick(M, N), M, N);
  if (t >= kTargetBlocks || K < 2 * kMinSplitK) return 1;
  return std::max<int64_t>(1, std::min({kTargetBlocks / t, K / kMinSplitK, kMaxSplits}));
}

template <int BM, int BN, int TM, int TN, bool TA, bool TB>
void launch(int64_t M, int64_t N, int64_t K, int64_t kps, int64_t splits, float alpha, const float* A, int64_t lda,
            const float* B, int64_t ldb, float beta, const float* c, int64_t ldc, float* out, int64_t ldo,
            float* partial, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(((M + BM - 1) / BM) * ((N + BN - 1) / BN)), 1, static_cast<unsigned>(splits));
  auto* kernel = &sgemm_kernel<BM, BN, 8, TM, TN, TA, TB>;
  FORGENET_LAUNCH(kernel, grid, (BM / TM) * (BN / TN), stream, M, N, K, kps, alpha, A, lda, B, ldb, beta, c, ldc,
                  out, ldo, partial);
}

template <int BM, int BN, int TM, int TN>
void launch_any(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t kps, int64_t splits, float alpha,
                const float* A, int64_t lda, const float* B, int64_t ldb, float beta, const float* c, int64_t ldc,
                float* out, int64_t ldo, float* partial, cudaStream_t s) {
  if (!ta && !tb) launch<BM, BN, TM, TN, false, false>(M, N, K, kps, splits, alpha, A, lda, B, ldb, beta, c, ldc, out, ldo, partial, s);
  if (!ta && tb) launch<BM, BN, TM, TN, false, true>(M, N, K, kps, splits, alpha, A, lda, B, ldb, beta, c, ldc, out, ldo, partial, s);
  if (ta && !tb) launch<BM, BN, TM, TN, true, false>(M, N, K, kps, splits, alpha, A, lda, B, ldb, beta, c, ldc, out, ldo, partial, s);
  if (ta && tb) launch<BM, BN, TM, TN, true, true>(M, N, K, kps, splits, alpha, A, lda, B, ldb, beta, c, ldc, out, ldo, partial, s);
}

}  // namespace

int64_t sgemm_workspace_floats(int64_t M, int64_t N, int64_t K) {
  if (M <= 0 || N <= 0 || K <= 0) return 0;
  const int64_t s = wanted_splits(M, N, K);
  return s > 1 ? s * M * N : 0;
}

cudaError_t sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, const float* c, int64_t ldc, float* out,
                  int64_t ldo, float* workspace, int64_t workspace_floats, cudaStream_t stream) {
  if (M <= 0 || N <= 0) return cudaSuccess;
  int64_t splits = K > 0 ? wanted_splits(M, N, K) : 1;
  if (!workspace) splits = 1;
  splits = std::max<int64_t>(1, std::min(splits, workspace_floats / (M * N)));
  // k per split, a multiple of the tile depth; recount so that no split is empty.
  int64_t kps = std::max<int64_t>(K, 1);
  if (splits > 1) {
    kps = ((K + splits - 1) / splits + 7) / 8 * 8;
    splits = (K + kps - 1) / kps;
  }
  float* partial = splits > 1 ? workspace : nullptr;
  const Config cfg = pick(M, N);
  if (tiles(cfg, M, N) > 0x7fffffff) return cudaErrorInvalidValue;  // beyond grid.x: a 2^31-tile output
  if (cfg.bm == 128)
    launch_any<128, 128, 8, 8>(trans_a, trans_b, M, N, K, kps, splits, alpha, A, lda, B, ldb, beta, c, ldc, out, ldo, partial, stream);
  else
    launch_any<64, 64, 4, 4>(trans_a, trans_b, M, N, K, kps, splits, alpha, A, lda, B, ldb, beta, c, ldc, out, ldo, partial, stream);
  cudaError_t err = launch_status();
  if (err != cudaSuccess || !partial) return err;
  FORGENET_LAUNCH(splitk_reduce, blocks_for(M * N), kThreads, stream, M, N, splits, partial, alpha, beta, c, ldc, out,
                  ldo);
  return launch_status();
}

}  // namespace forgenet::gpu

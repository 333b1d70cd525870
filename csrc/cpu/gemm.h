// Single-precision GEMM, row-major: C = alpha * op(A) @ op(B) + beta * C, op(X) = X or X^T.
// op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in elements.
// beta == 0 means C is write-only (it may hold NaN/garbage on entry), as in BLAS.
#pragma once
#include <cstdint>

#include "common/workspace.h"
#include "cpu/cpu_features.h"

namespace forgenet {
namespace gemm {
struct Kernel;
}

// Parallel over OpenMP threads. Called from inside an OpenMP parallel region it runs on the calling
// thread only (nested parallelism is off), so callers may parallelise over independent GEMMs.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// op(B) (K x N) packed once into the panels of the micro-kernel sgemm would pick, for a weight that
// meets many A's (an LSTM's recurrent kernel across time steps, a Dense kernel across batches):
// sgemm_packed then skips B's packing. Bound to the instruction set and tile it was packed for.
struct PackedB {
  Isa isa = Isa::generic;
  const gemm::Kernel* kernel = nullptr;
  int64_t k = 0, n = 0;
  bool trans = false;
  AlignedBuffer data;  // for each K block of the kernel's kc rows: ceil(N / NR) panels of kc x NR floats
};

// Packs for `isa` (best_isa() for use here: sgemm_packed refuses any other); m_hint: the rows of the A's
// it will meet (picks the tile as sgemm would for an (m_hint, N) product).
PackedB sgemm_pack_b(Isa isa, bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb,
                     int64_t m_hint = int64_t(1) << 30);

// sgemm with op(B) = B: C = alpha * op(A) @ B + beta * C, A being M x B.k; B.isa must be best_isa().
void sgemm_packed(bool trans_a, int64_t M, float alpha, const float* A, int64_t lda, const PackedB& B,
                  float beta, float* C, int64_t ldc);

// The plain triple loop every optimised path is checked against (llm.c style); double accumulators.
void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc);

}  // namespace forgenet

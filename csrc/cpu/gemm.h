// Single-precision GEMM, row-major: C = alpha * op(A) @ op(B) + beta * C, op(X) = X or X^T.
// op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in elements.
// beta == 0 means C is write-only (it may hold NaN/garbage on entry), as in BLAS.
#pragma once
#include <cstdint>

namespace forgenet {

// Parallel over OpenMP threads. Called from inside an OpenMP parallel region it runs on the calling
// thread only (nested parallelism is off), so callers may parallelise over independent GEMMs.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The plain triple loop every optimised path is checked against (llm.c style); double accumulators.
void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc);

}  // namespace forgenet

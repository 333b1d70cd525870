// Single-precision GEMM on the GPU, row-major like forgenet::sgemm (csrc/cpu/gemm.h):
//   out (M, N) = alpha * op(A) @ op(B) + beta * c,  op(X) = X^T when trans_x,
// with leading dimensions lda/ldb/ldc/ldo. c is not read when beta == 0 (it may then be null) and may
// be the same buffer as out. Plain float32 FMA throughout (no TF32), so results match a float32
// reference to rounding.
#pragma once
#include "cuda/api.h"

namespace forgenet::gpu {

// Floats of scratch that sgemm can use to split K across blocks when M x N alone cannot fill the GPU
// (0 when no split helps). Any smaller workspace (null included) is also accepted: sgemm then splits
// less, or not at all.
int64_t sgemm_workspace_floats(int64_t M, int64_t N, int64_t K);

cudaError_t sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, const float* c, int64_t ldc, float* out,
                  int64_t ldo, float* workspace, int64_t workspace_floats, cudaStream_t stream);

}  // namespace forgenet::gpu

// PLACEHOLDER until the packed, cache-blocked GEMM lands: forwards to the reference loop.
#include "cpu/gemm.h"

namespace forgenet {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace forgenet

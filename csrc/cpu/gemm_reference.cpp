#include "common/checked.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace forgenet {

void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc) {
  parallel_for(0, M, grain_for(mul_sat(N, K)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0.0;
        for (int64_t p = 0; p < K; ++p) {
          const float a = trans_a ? A[p * lda + i] : A[i * lda + p];
          const float b = trans_b ? B[j * ldb + p] : B[p * ldb + j];
          acc += static_cast<double>(a) * b;
        }
        float& c = C[i * ldc + j];
        c = static_cast<float>(alpha * acc) + (beta == 0.0f ? 0.0f : beta * c);
      }
    }
  });
}

}  // namespace forgenet

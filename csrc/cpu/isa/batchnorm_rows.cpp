// BatchNorm's channels-last (inner == 1) row loops, built per ISA (generic, avx2): each is a plain loop
// over the C channels of rows [r0, r1) that the compiler widens to the ISA at hand. Threads and
// partial sums are batchnorm.cpp's.
#include "cpu/isa/batchnorm_rows.h"

namespace forgenet::FORGENET_ISA_NS {

void bn_stats_rows(const float* __restrict x, int64_t r0, int64_t r1, int64_t c, const float* __restrict k,
                         float* __restrict a1, float* __restrict a2) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * c;
    for (int64_t j = 0; j < c; ++j) {
      const float d = xr[j] - k[j];
      a1[j] += d;
      a2[j] += d * d;
    }
  }
}
void bn_grad_rows(const float* __restrict x, const float* __restrict dy, int64_t r0, int64_t r1,
                             int64_t c, const float* __restrict m, float* __restrict a1, float* __restrict a2) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * c;
    const float* __restrict dr = dy + r * c;
    for (int64_t j = 0; j < c; ++j) {
      a1[j] += dr[j];
      a2[j] += dr[j] * (xr[j] - m[j]);
    }
  }
}
// y = (x - m) * a + b, or y = x * a when m and b are null
void bn_apply_rows(const float* __restrict x, int64_t r0, int64_t r1, int64_t c, const float* __restrict m,
                         const float* __restrict a, const float* __restrict b, float* __restrict y) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * c;
    float* __restrict yr = y + r * c;
    if (m)
      for (int64_t j = 0; j < c; ++j) yr[j] = (xr[j] - m[j]) * a[j] + b[j];
    else
      for (int64_t j = 0; j < c; ++j) yr[j] = xr[j] * a[j];
  }
}
void bn_dx_rows(const float* __restrict x, const float* __restrict dy, int64_t r0, int64_t r1, int64_t c,
                      const float* __restrict m, const float* __restrict a, const float* __restrict b,
                      const float* __restrict cc, float* __restrict out) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * c;
    const float* __restrict dr = dy + r * c;
    float* __restrict o = out + r * c;
    for (int64_t j = 0; j < c; ++j) o[j] = a[j] * dr[j] + b[j] * (xr[j] - m[j]) + cc[j];
  }
}

}  // namespace forgenet::FORGENET_ISA_NS

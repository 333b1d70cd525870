// The LSTM pointwise passes compiled with avx2 (see lstm_pointwise.h); entered only after best_isa().
#include "cpu/lstm_pointwise.h"

namespace forgenet {

void lstm_fwd_rows_avx2(const LstmFwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) { fwd_rows_impl(a, N, U, u0, u1); }
void lstm_bwd_rows_avx2(const LstmBwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1) { bwd_rows_impl(a, N, U, u0, u1); }
void lstm_activations_avx2(const float* x, float* s, float* t, int64_t n) { activations_impl(x, s, t, n); }

}  // namespace forgenet

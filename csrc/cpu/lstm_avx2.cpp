// The LSTM pointwise passes compiled with avx2 (see lstm_pointwise.h); entered only after best_isa().
#include "cpu/lstm_pointwise.h"

namespace forgenet {

void lstm_fwd_rows_avx2(const LstmFwdRows& a, int64_t n0, int64_t n1, int64_t U) { fwd_rows_impl(a, n0, n1, U); }
void lstm_bwd_rows_avx2(const LstmBwdRows& a, int64_t n0, int64_t n1, int64_t U) { bwd_rows_impl(a, n0, n1, U); }
void lstm_activations_avx2(const float* x, float* s, float* t, int64_t n) { activations_impl(x, s, t, n); }

}  // namespace forgenet

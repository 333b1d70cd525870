// The LSTM's fused pointwise passes (isa/lstm_pointwise.cpp), one build per ISA; lstm.cpp calls the
// best. The row structs and what each pass computes are in lstm.h.
#pragma once
#include <cstdint>

#include "cpu/dispatch.h"
#include "cpu/lstm.h"

FORGENET_ISA_DECLARE(
    void lstm_fwd_rows(const LstmFwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1);
    void lstm_bwd_rows(const LstmBwdRows& a, int64_t N, int64_t U, int64_t u0, int64_t u1);
    void lstm_activations(const float* x, float* sig, float* tnh, int64_t n))

// The GRU's fused pointwise passes (isa/gru_pointwise.cpp), one table per ISA build; gru.cpp picks the
// best. The row structs and what each pass computes are in gru.h.
#pragma once

#include "cpu/dispatch.h"
#include "cpu/gru.h"

FORGENET_ISA_DECLARE(extern const GruPasses gru_passes)

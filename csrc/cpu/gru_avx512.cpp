// The GRU pointwise passes compiled with avx512 (see gru_pointwise.h); entered only after best_isa().
#include "cpu/gru_pointwise.h"

namespace forgenet {
const GruPasses gru_passes_avx512 = gru_passes_here;
}  // namespace forgenet

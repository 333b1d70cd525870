// The pooling kernels of pooling_impl.h compiled with AVX2 (CMake adds the flags for *_avx2.cpp);
// entered only when the CPU has it (pooling.cpp dispatches on best_isa()).
#define FORGENET_POOL_NS pool_avx2
#include "cpu/pooling_impl.h"

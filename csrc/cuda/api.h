// What the launchers' declarations need from CUDA (cudaStream_t, cudaError_t): the runtime API header,
// which the bindings compile against with the host compiler, or the CPU stand-in under tests/cuda_emu.
#pragma once
#include <cstdint>
#ifdef FORGENET_CUDA_EMU
#include "cuda_emu.h"
#else
#include <cuda_runtime_api.h>
#endif

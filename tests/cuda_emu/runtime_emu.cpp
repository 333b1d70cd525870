// cuda/runtime.h for the emulated build (tests/cuda_emu/conftest.py): one device, device 0, and every
// pointer on it, so forgenet._cuda's bindings run end to end on host memory.
#include "cuda/runtime.h"

namespace forgenet::gpu {

std::string error_string(cudaError_t err) { return std::string(cudaGetErrorName(err)) + ": emulated"; }
int device_count(std::string*) { return 1; }
int current_device(std::string*) { return 0; }
int pointer_device(const void*, std::string*) { return 0; }
int runtime_version() { return 0; }
int driver_version() { return 0; }

}  // namespace forgenet::gpu

// cuda/runtime.h for the emulated build (tests/cuda_emu/conftest.py): one device, device 0, and every
// pointer on it, so forgenet._cuda's bindings run end to end on host memory.
#include "cuda/runtime.h"

namespace forgenet::gpu {

std::string error_string(cudaError_t err) { return std::string(cudaGetErrorName(err)) + ": emulated"; }
int device_count(std::string*) { return 1; }
cudaError_t take_last_error() { return cudaGetLastError(); }

// Emulated kernels run to completion at launch, so a sync finds nothing new, unless a test asked for an
// asynchronous fault (forgenet_emu_fail_sync_in(n), through ctypes: the n-th sync from now fails) to
// check FORGENET_CUDA_SYNC's report.
int g_fail_sync_in = 0;
cudaError_t sync_stream(cudaStream_t) {
  if (g_fail_sync_in > 0 && --g_fail_sync_in == 0) return cudaErrorInvalidValue;
  return cudaSuccess;
}
int current_device(std::string*) { return 0; }
int pointer_device(const void*, std::string*) { return 0; }
int runtime_version() { return 0; }
int driver_version() { return 0; }

}  // namespace forgenet::gpu

// Test hooks, called through ctypes (tests/cuda_emu/test_emu_reliability.py): an error left pending by
// an earlier launch, and a fault that only a synchronisation reveals.
extern "C" void forgenet_emu_set_last_error(int e) { emu::last_error = static_cast<cudaError_t>(e); }
extern "C" void forgenet_emu_fail_sync_in(int n) { forgenet::gpu::g_fail_sync_in = n; }

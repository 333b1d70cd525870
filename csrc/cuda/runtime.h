// The few runtime queries the bindings need, behind plain C++ (so the bindings never include CUDA
// device headers). None of them throws or aborts when there is no driver or no GPU.
#pragma once
#include <string>

#include "cuda/api.h"

namespace forgenet::gpu {

// Number of usable GPUs; 0 (with the reason in *why, when given) when there is no driver or device.
int device_count(std::string* why = nullptr);

// The current device, or -1 (with the reason in *why) when none can be had.
int current_device(std::string* why = nullptr);

// The device that holds `ptr`, -1 for host memory, or -2 with the reason in *why when CUDA cannot tell.
int pointer_device(const void* ptr, std::string* why = nullptr);

std::string error_string(cudaError_t err);  // "cudaErrorX: description"

// The error an earlier launch left behind (clearing it, unless the context is broken for good), so that
// an op does not report someone else's failure as its own; cudaSuccess when there was none.
cudaError_t take_last_error();

// Waits for everything queued on `stream` (FORGENET_CUDA_SYNC=1 mode) and returns its first error.
cudaError_t sync_stream(cudaStream_t stream);

int runtime_version();  // CUDA runtime this module was linked with, e.g. 13000
int driver_version();   // highest CUDA version the installed driver supports, 0 when there is none

}  // namespace forgenet::gpu

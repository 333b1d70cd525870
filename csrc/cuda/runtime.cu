#include "cuda/common.cuh"
#include "cuda/runtime.h"

namespace forgenet::gpu {

std::string error_string(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

cudaError_t take_last_error() { return cudaGetLastError(); }

cudaError_t sync_stream(cudaStream_t stream) {
  const cudaError_t err = cudaStreamSynchronize(stream);
  return err != cudaSuccess ? err : cudaGetLastError();
}

int device_count(std::string* why) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // not sticky: clear it so later calls start clean
    if (why) *why = error_string(err);
    return 0;
  }
  if (n == 0 && why) *why = "the driver reports no CUDA device";
  return n;
}

int current_device(std::string* why) {
  int d = -1;
  const cudaError_t err = cudaGetDevice(&d);
  if (err != cudaSuccess) {
    cudaGetLastError();
    if (why) *why = error_string(err);
    return -1;
  }
  return d;
}

int pointer_device(const void* ptr, std::string* why) {
  cudaPointerAttributes attr{};
  const cudaError_t err = cudaPointerGetAttributes(&attr, ptr);
  if (err != cudaSuccess) {
    cudaGetLastError();
    if (why) *why = error_string(err);
    return -2;
  }
  if (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged) return attr.device;
  return -1;
}

int runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

int driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return v;
}

}  // namespace forgenet::gpu

// Arrays that cross into forgenet._cuda: any object exposing __cuda_array_interface__ (CuPy, PyTorch,
// Numba, ...). Everything is checked here, as checks.h does for numpy arrays in forgenet._C: dtype,
// rank, C-contiguity, a non-null pointer unless empty, and (once a GPU is known to be present) that
// the memory lives on the current device. Errors name the op and the argument and come out as
// TypeError / ValueError; CUDA failures as RuntimeError.
//
// Outputs and scratch memory are not allocated here but through the `alloc(shape)` callable the caller
// passes (forgenet._cuda_backend passes CuPy's allocator), so CuPy's memory pool manages all of it.
// CuPy's pool is stream-ordered: a scratch block freed when a call returns is only reused by work
// queued later on the same stream, after the kernels that used it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings/checks.h"
#include "cuda/api.h"

namespace forgenet::bind::cuda {

using Shape = std::vector<int64_t>;

struct DeviceArray {
  py::object owner;  // keeps the producer (and so the memory) alive while we use it
  void* ptr = nullptr;
  Shape shape;
  std::string typestr;

  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[static_cast<size_t>(i)]; }
  int64_t size() const;
  const float* f() const { return static_cast<const float*>(ptr); }
  float* fm() const { return static_cast<float*>(ptr); }
  const int64_t* i64() const { return static_cast<const int64_t*>(ptr); }
};

std::string shape_str(const Shape& s);
std::string dtype_name(const std::string& typestr);  // '<f4' -> 'float32'

// The validated interface of obj: float32 (or int64 when `integer`), rank `rank` (-1: any), C-contiguous.
DeviceArray device_array(const py::handle& obj, const char* op, const char* name, int rank, bool integer = false);

// A new float32 array of `shape` from alloc, checked like an argument (a misbehaving allocator is an error).
DeviceArray allocate(const py::handle& alloc, const Shape& shape, const char* op, const char* what);

// RuntimeError "op: no CUDA GPU found (...)" unless a GPU is present; then checks every non-empty array is
// device memory on the current device. Call after the shape checks, before any launch.
void require_same_device(const char* op, const std::vector<std::pair<const char*, const DeviceArray*>>& arrays);

// cudaSuccess, or RuntimeError "op: CUDA error: ...".
void check_cuda(cudaError_t err, const char* op);

inline cudaStream_t as_stream(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

}  // namespace forgenet::bind::cuda

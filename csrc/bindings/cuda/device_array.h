// Arrays that cross into forgenet._cuda: any object exposing __cuda_array_interface__ (CuPy, PyTorch,
// Numba, ...). This is the CUDA-side adapter to the contracts' neutral ArrayDesc
// (bindings/contracts/array.h), as checks.h is for numpy arrays in forgenet._C: it reads the interface
// (refusing malformed ones) and describes it; the family contracts then check dtype, rank, contiguity
// and shapes with the same words on both devices. require_same_device checks, once a GPU is known to be
// present, that the memory lives on the current device. Errors come out as TypeError / ValueError;
// CUDA failures as RuntimeError naming the op.
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
#include "bindings/contracts/array.h"
#include "cuda/api.h"

namespace forgenet::bind::cuda {

using contract::Shape;
using contract::shape_str;

struct DeviceArray {
  py::object owner;  // keeps the producer (and so the memory) alive while we use it
  void* ptr = nullptr;
  Shape shape;
  std::string typestr;
  ArrayDesc d;  // what the contracts see

  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[static_cast<size_t>(i < 0 ? i + ndim() : i)]; }
  int64_t size() const { return d.size(); }
  const float* f() const { return static_cast<const float*>(ptr); }
  float* fm() const { return static_cast<float*>(ptr); }
  const int64_t* i64() const { return static_cast<const int64_t*>(ptr); }
};

std::string dtype_name(const std::string& typestr);  // '<f4' -> 'float32'

// The interface of obj, read and described; a malformed interface is an error, a wrong dtype not yet.
DeviceArray device_array(const py::handle& obj, const char* op, const char* name);

// device_array, then the shared dtype (float32, or int64 when `integer`), rank (-1: any) and contiguity rule.
DeviceArray device_array(const py::handle& obj, const char* op, const char* name, int rank, bool integer = false);

// A new float32 array of `shape` from alloc, checked like an argument (a misbehaving allocator is an error);
// its size is checked against int64 first, and an allocator's MemoryError names the op and the bytes.
DeviceArray allocate(const py::handle& alloc, const Shape& shape, const char* op, const char* what);

// Output i of `count` named `what`: the caller's buffer from out= (None, one array when count == 1, or a
// tuple of `count` entries each None or an array; checked by contract::require_out, written in place)
// or a new array from alloc. `inputs` are the arrays it must not overlap, with their names.
DeviceArray output(const py::handle& alloc, const Shape& shape, const char* op, const char* what, const py::handle& out,
                   size_t i, size_t count, const std::vector<std::pair<const char*, const DeviceArray*>>& inputs);

// RuntimeError "op: no CUDA GPU found (...)" unless a GPU is present; then checks every non-empty array is
// device memory on the current device. Call after the shape checks, before any launch.
void require_same_device(const char* op, const std::vector<std::pair<const char*, const DeviceArray*>>& arrays);

// cudaSuccess, or RuntimeError "op: CUDA error: ...".
void check_cuda(cudaError_t err, const char* op);

inline cudaStream_t as_stream(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

// FORGENET_CUDA_SYNC=1: synchronise before and after every op, so that an asynchronous fault is reported by
// the op that caused it (and one left by earlier work is reported as such). Read at each call.
bool sync_mode();

// Runs the launcher `f` (returning cudaError_t) on `stream` without the GIL: clears an error an earlier
// launch left pending (it is not this op's), checks the launch, and in sync mode waits for the stream.
template <typename F>
void launch(const char* op, uintptr_t stream, F&& f);

void before_launch(const char* op, cudaStream_t stream);
void after_launch(const char* op, cudaStream_t stream, cudaError_t launch_err);

template <typename F>
void launch(const char* op, uintptr_t stream, F&& f) {
  before_launch(op, as_stream(stream));
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = f();
  }
  after_launch(op, as_stream(stream), err);
}

}  // namespace forgenet::bind::cuda

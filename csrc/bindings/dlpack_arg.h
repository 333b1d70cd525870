// A DLPack capsule ("dltensor", as torch.utils.dlpack.to_dlpack or ndarray.__dlpack__() make it) as a
// numpy array over the same memory. forgenet.torch hands its CPU tensors to forgenet._C this way: the
// capsule costs ~0.5 us a tensor where Tensor.numpy(force=True) costs ~2 us, and a kernel call takes
// up to ten of them. Nothing is converted here either: the family's contract then checks the dtype,
// rank and contiguity and words any refusal as it does for numpy arrays.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/errors.h"

namespace forgenet::bind::dlpack {

namespace py = pybind11;

// The legacy (unversioned) DLPack ABI, dlpack.h v0.8: what "dltensor" capsules carry.
struct Device {
  int32_t device_type;  // 1: kDLCPU
  int32_t device_id;
};
struct DataType {
  uint8_t code;  // 0 int, 1 uint, 2 float, 4 bfloat, 5 complex, 6 bool
  uint8_t bits;
  uint16_t lanes;
};
struct Tensor {
  void* data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null: C-contiguous
  uint64_t byte_offset;
};
struct Managed {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(Managed*);
};

inline const char* kDevice[] = {"?", "cpu", "cuda", "cuda_host", "opencl", "vulkan", "metal", "vpi", "rocm"};

inline bool is_capsule(const py::handle& obj) { return PyCapsule_CheckExact(obj.ptr()) != 0; }

// numpy's dtype for a DLPack one; bfloat16 and vector lanes have none (a TypeError naming the argument).
inline py::dtype numpy_dtype(const DataType& t, const char* op, const char* name) {
  if (t.lanes == 1) {
    if (t.code == 2 && t.bits == 32) return py::dtype::of<float>();
    if (t.code == 0 && t.bits == 64) return py::dtype::of<int64_t>();
    const char kind =
        t.code == 0 ? 'i' : t.code == 1 ? 'u' : t.code == 2 ? 'f' : t.code == 5 ? 'c' : t.code == 6 ? 'b' : 0;
    if (kind && t.bits % 8 == 0 && t.bits > 0) return py::dtype(std::string(1, kind) + std::to_string(t.bits / 8));
  }
  type_error(op, ": ", name, " is a DLPack tensor of dtype code ", int(t.code), ", ", int(t.bits), " bits, ",
             int(t.lanes), " lanes, which numpy has no dtype for; forgenet._C takes float32 (ids int64)");
}

// Consumes the capsule (renamed "used_dltensor", as the protocol asks; its producer's deleter runs when
// the returned array and every view of it are gone).
inline py::array from_capsule(const py::handle& obj, const char* op, const char* name) {
  PyObject* cap = obj.ptr();
  if (!PyCapsule_IsValid(cap, "dltensor")) {
    const char* got = PyCapsule_GetName(cap);
    PyErr_Clear();
    const std::string what = got ? got : "(unnamed)";
    if (what == "used_dltensor")
      type_error(op, ": ", name, " is a DLPack capsule that was already consumed (each capsule can be read once)");
    type_error(op, ": ", name, " is a capsule named '", what, "'; forgenet._C takes numpy arrays or 'dltensor' "
               "DLPack capsules (torch.utils.dlpack.to_dlpack)");
  }
  auto* m = static_cast<Managed*>(PyCapsule_GetPointer(cap, "dltensor"));
  const Tensor& t = m->dl_tensor;
  if (t.device.device_type != 1) {
    const int dt = t.device.device_type;
    type_error(op, ": ", name, " is a DLPack tensor on ", (dt >= 0 && dt <= 8 ? kDevice[dt] : "an unknown device"),
               " (device type ", dt, "); forgenet._C takes CPU memory (for GPU tensors use forgenet._cuda)");
  }
  py::dtype dtype = numpy_dtype(t.dtype, op, name);
  const int64_t item = t.dtype.bits / 8;
  std::vector<py::ssize_t> shape(t.shape, t.shape + t.ndim), strides(static_cast<size_t>(t.ndim));
  int64_t step = 1;
  for (int32_t i = t.ndim - 1; i >= 0; --i) {
    strides[i] = static_cast<py::ssize_t>((t.strides ? t.strides[i] : step) * item);
    step *= t.shape[i];
  }
  // the owner calls the producer's deleter when numpy lets go of the memory
  py::capsule owner(m, "forgenet.dltensor", [](PyObject* c) {
    auto* mt = static_cast<Managed*>(PyCapsule_GetPointer(c, "forgenet.dltensor"));
    if (mt && mt->deleter) mt->deleter(mt);
  });
  PyCapsule_SetName(cap, "used_dltensor");
  void* data = static_cast<char*>(t.data) + t.byte_offset;
  return py::array(dtype, std::move(shape), std::move(strides), data, owner);
}

}  // namespace forgenet::bind::dlpack

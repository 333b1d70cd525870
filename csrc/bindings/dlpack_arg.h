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

#include "bindings/contracts/array.h"
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

// numpy's kind letter for a DLPack dtype; bfloat16 and vector lanes have none (a TypeError naming the argument).
inline char kind_of(const DataType& t, const char* op, const char* name) {
  const char kind = t.lanes != 1 || t.bits == 0 || t.bits % 8 ? 0
                    : t.code == 0 ? 'i' : t.code == 1 ? 'u' : t.code == 2 ? 'f' : t.code == 5 ? 'c'
                    : t.code == 6 ? 'b' : 0;
  if (!kind)
    type_error(op, ": ", name, " is a DLPack tensor of dtype code ", int(t.code), ", ", int(t.bits), " bits, ",
               int(t.lanes), " lanes, which numpy has no dtype for; forgenet._C takes float32 (ids int64)");
  return kind;
}

// The capsule's tensor, after the checks every reader needs: a live "dltensor" capsule of CPU memory.
inline Managed* managed(const py::handle& obj, const char* op, const char* name) {
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
  const int dt = m->dl_tensor.device.device_type;
  if (dt != 1)
    type_error(op, ": ", name, " is a DLPack tensor on ", (dt >= 0 && dt <= 8 ? kDevice[dt] : "an unknown device"),
               " (device type ", dt, "); forgenet._C takes CPU memory (for GPU tensors use forgenet._cuda)");
  kind_of(m->dl_tensor.dtype, op, name);
  return m;
}

// Takes the capsule over (renamed "used_dltensor", as the protocol asks): the returned owner runs the
// producer's deleter when it goes.
inline py::object take(const py::handle& obj, Managed* m) {
  py::capsule owner(m, "forgenet.dltensor", [](PyObject* c) {
    auto* mt = static_cast<Managed*>(PyCapsule_GetPointer(c, "forgenet.dltensor"));
    if (mt && mt->deleter) mt->deleter(mt);
  });
  PyCapsule_SetName(obj.ptr(), "used_dltensor");
  return std::move(owner);
}

inline void* data_of(const Tensor& t) { return static_cast<char*>(t.data) + t.byte_offset; }

// The capsule read straight into the contracts' description (no numpy array in between: the kernels'
// arguments need only the description and the pointer). Returns the owner to keep while the data is used.
inline py::object describe(const py::handle& obj, const char* op, const char* name, contract::ArrayDesc& d) {
  Managed* m = managed(obj, op, name);
  const Tensor& t = m->dl_tensor;
  const int64_t item = t.dtype.bits / 8;
  d.dtype = contract::classify(kind_of(t.dtype, op, name), item, '=', &d.dtype_name);
  d.shape.assign(t.shape, t.shape + t.ndim);
  // C order as numpy counts it: size-1 axes' strides do not matter, an empty array is contiguous
  bool dense = true, empty = false;
  int64_t step = 1;
  for (int32_t i = t.ndim - 1; i >= 0; --i) {
    empty = empty || t.shape[i] == 0;
    if (t.strides && t.shape[i] != 1 && t.strides[i] != step) dense = false;
    step *= t.shape[i];
  }
  d.contiguous = dense || empty;
  d.writeable = true;  // DLPack (unversioned) has no read-only flag
  d.data = data_of(t);
  d.itemsize = item;
  return take(obj, m);
}

// The capsule as a numpy array over the same memory, for the bindings that need an array object (an
// out= buffer they return, an in-place op's result).
inline py::array from_capsule(const py::handle& obj, const char* op, const char* name) {
  Managed* m = managed(obj, op, name);
  const Tensor& t = m->dl_tensor;
  const int64_t item = t.dtype.bits / 8;
  py::dtype dtype = t.dtype.code == 2 && t.dtype.bits == 32 ? py::dtype::of<float>()
                    : py::dtype(std::string(1, kind_of(t.dtype, op, name)) + std::to_string(item));
  std::vector<py::ssize_t> shape(t.shape, t.shape + t.ndim), strides(static_cast<size_t>(t.ndim));
  int64_t step = 1;
  for (int32_t i = t.ndim - 1; i >= 0; --i) {
    strides[i] = static_cast<py::ssize_t>((t.strides ? t.strides[i] : step) * item);
    step *= t.shape[i];
  }
  void* data = data_of(t);
  py::object owner = take(obj, m);
  return py::array(dtype, std::move(shape), std::move(strides), data, owner);
}

}  // namespace forgenet::bind::dlpack

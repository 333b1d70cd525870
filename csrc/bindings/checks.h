// The numpy side of the bindings (forgenet._C): the adapter from numpy arrays to the contracts'
// neutral ArrayDesc (bindings/contracts/array.h), output allocation, and the one way every binding
// runs a kernel. The ops layer already checks and converts its inputs, but the extension is also called
// directly (by other frameworks, by tests), so every array that crosses into C++ goes through a
// family's contract here. Nothing is converted: a wrong dtype is a TypeError and a non-contiguous
// array a ValueError, so a caller never pays for a hidden copy.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bindings/contracts/array.h"
#include "bindings/dlpack_arg.h"
#include "common/errors.h"

namespace forgenet::bind {

namespace py = pybind11;

using contract::ArrayDesc;
using contract::DType;
using forgenet::cat;
using forgenet::type_error;
using forgenet::value_error;

inline std::string type_name(const py::handle& obj) {
  return std::string(py::str(py::type::handle_of(obj).attr("__name__")));
}

inline std::string shape_str(const py::array& a) {
  return contract::shape_str(contract::Shape(a.shape(), a.shape() + a.ndim()));
}

// The neutral description of a numpy array (dtype by kind, size and byte order).
inline ArrayDesc describe(const py::array& a) {
  ArrayDesc d;
  const py::dtype t = a.dtype();
  d.dtype = contract::classify(t.kind(), t.itemsize(), t.byteorder(), &d.dtype_name);
  d.shape.assign(a.shape(), a.shape() + a.ndim());
  d.contiguous = (a.flags() & py::array::c_style) != 0;
  d.writeable = a.writeable();
  d.data = a.data();
  d.itemsize = t.itemsize();
  return d;
}

// obj (a numpy array, or a DLPack capsule of CPU memory) as a numpy array, or TypeError naming the op and
// the argument.
inline py::array as_array(const py::handle& obj, const char* op, const char* name) {
  if (dlpack::is_capsule(obj)) return dlpack::from_capsule(obj, op, name);
  if (!py::isinstance<py::array>(obj)) type_error(op, ": ", name, " must be a numpy array, got ", type_name(obj));
  return py::reinterpret_borrow<py::array>(obj);
}

// An argument with its description, for the contracts. A DLPack capsule is read into the description
// alone (`a` stays empty: use f() / fm() / d.data, or as_array() where a binding needs an array object).
struct Arg {
  py::array a;
  py::object owner;  // a capsule's: keeps its memory alive while the kernel runs
  ArrayDesc d;
  Arg() = default;
  Arg(const py::handle& obj, const char* op, const char* name) {
    if (dlpack::is_capsule(obj)) {
      owner = dlpack::describe(obj, op, name, d);
    } else {
      a = as_array(obj, op, name);
      d = describe(a);
    }
  }
  const float* f() const { return static_cast<const float*>(d.data); }
  float* fm() { return owner ? static_cast<float*>(const_cast<void*>(d.data)) : static_cast<float*>(a.mutable_data()); }
  const int64_t* i64() const { return static_cast<const int64_t*>(d.data); }
};

// An array argument the caller may leave as None (an optional gradient, a bias).
struct OptArg {
  bool given = false;
  Arg arg;
  OptArg(const py::handle& obj, const char* op, const char* name) : given(!obj.is_none()) {
    if (given) arg = Arg(obj, op, name);
  }
  const ArrayDesc* d() const { return given ? &arg.d : nullptr; }
  const float* f() const { return given ? arg.f() : nullptr; }
};

// A direct check of one array (dtype, rank -1: any, contiguity), for bindings outside a family contract.
inline py::array checked(const py::handle& obj, const char* op, const char* name, int rank, bool integer = false) {
  Arg a(as_array(obj, op, name), op, name);  // its callers use the array object
  contract::require(a.d, op, name, integer ? DType::I64 : DType::F32, rank);
  return a.a;
}

inline std::vector<py::ssize_t> dims(const py::array& a) { return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()); }

inline const float* fptr(const py::array& a) { return static_cast<const float*>(a.data()); }
inline float* fptr_mut(py::array& a) { return static_cast<float*>(a.mutable_data()); }
inline const int64_t* iptr(const py::array& a) { return static_cast<const int64_t*>(a.data()); }

// A new float32 array for the op's output `name`; its size is checked against int64 and a failed
// allocation is a MemoryError naming the op, the output and the bytes asked for.
inline py::array_t<float> empty_f32(const char* op, const char* name, const contract::Shape& shape) {
  const int64_t n = contract::output_size(op, name, shape);
  try {
    return py::array_t<float>(std::vector<py::ssize_t>(shape.begin(), shape.end()));
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_MemoryError))
      throw OutOfMemory(cat(op, ": cannot allocate ", bytes_str(bytes_of(n, 4)), " for ", name, " of shape ",
                            contract::shape_str(shape)));
    if (e.matches(PyExc_ValueError))  // numpy's own limit on a shape (e.g. dimensions past its index range)
      value_error(op, ": ", name, " of shape ", contract::shape_str(shape), " is beyond numpy's limits (",
                  std::string(py::str(e.value())), ")");
    throw;
  }
}

// The caller's out= argument for output i of `count`: None, one array (when count == 1), or a tuple or
// list of `count` entries, each None (allocate that one) or an array. Returns None or the array.
inline py::object out_arg(const py::handle& out, size_t i, size_t count, const char* op) {
  if (out.is_none()) return py::none();
  // a list for a one-output op is a (wrong) array, not a list of outputs
  if (py::isinstance<py::tuple>(out) || (count > 1 && py::isinstance<py::list>(out))) {
    auto seq = py::reinterpret_borrow<py::sequence>(out);
    if (py::len(seq) != count)
      value_error(op, ": out must be a tuple of ", count, " arrays (or None entries), got ", py::len(seq), " entries");
    return seq[i];
  }
  if (count != 1) value_error(op, ": out must be a tuple of ", count, " arrays (or None entries), got ", type_name(out));
  return py::reinterpret_borrow<py::object>(out);
}

// Inputs an out= buffer must not overlap, with their names.
struct Inputs {
  std::vector<const ArrayDesc*> d;
  std::vector<std::string> names;
  Inputs(std::initializer_list<std::pair<const char*, const ArrayDesc*>> l) {
    for (const auto& [n, a] : l) names.push_back(n), d.push_back(a);
  }
};

// Output i of `count` named `name`: the caller's buffer from out= (checked by contract::require_out and
// written in place, never a copy after the fact) or a new array.
inline py::array_t<float> output(const char* op, const char* name, const contract::Shape& shape, const py::handle& out,
                                 size_t i, size_t count, const Inputs& inputs) {
  py::object o = out_arg(out, i, count, op);
  if (o.is_none()) return empty_f32(op, name, shape);
  const std::string label = count == 1 ? std::string("out") : cat("out[", i, "] (", name, ")");
  py::array a = as_array(o, op, label.c_str());
  contract::require_out(describe(a), op, label, shape, inputs.d, inputs.names);
  return py::reinterpret_borrow<py::array_t<float>>(a);
}

inline py::array_t<float> empty_like_f32(const char* op, const char* name, const py::array& a) {
  return empty_f32(op, name, contract::Shape(a.shape(), a.shape() + a.ndim()));
}

// Runs a kernel without the GIL. Allocation failures inside come out as MemoryError naming the op (and,
// from the kernels' own workspace helper, what was being allocated and its size).
template <typename F>
auto run(const char* op, F&& kernel) -> decltype(kernel()) {
  try {
    py::gil_scoped_release nogil;
    return kernel();
  } catch (const OutOfMemory& e) {
    throw OutOfMemory(cat(op, ": ", e.what()));
  } catch (const std::bad_alloc&) {
    throw OutOfMemory(cat(op, ": out of memory for the kernel's workspace"));
  } catch (const std::length_error&) {
    throw OutOfMemory(cat(op, ": the kernel's workspace would exceed the largest allocation possible"));
  }
}

}  // namespace forgenet::bind

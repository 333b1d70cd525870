// Validation shared by every binding. The Python ops layer already checks and converts its inputs,
// but the extension is also called directly (by other frameworks, by tests), so every array that
// crosses into C++ is checked again here: dtype, rank, contiguity, sizes. Errors name the op and the
// argument, say what was expected and what came, and surface in Python as TypeError / ValueError.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace forgenet::bind {

namespace py = pybind11;

template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}

template <typename... Parts>
[[noreturn]] void value_error(const Parts&... parts) {
  throw py::value_error(cat(parts...));
}

template <typename... Parts>
[[noreturn]] void type_error(const Parts&... parts) {
  throw py::type_error(cat(parts...));
}

inline std::string shape_str(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  if (a.ndim() == 1) s << ",";
  s << ")";
  return s.str();
}

// Returns obj as a float32 (or int64 when `integer`) C-contiguous array of the given rank (-1: any).
// Nothing is converted: a wrong dtype is a TypeError and a non-contiguous array a ValueError, so a
// caller never pays for a hidden copy.
inline py::array checked(const py::handle& obj, const char* op, const char* name, int rank,
                         bool integer = false) {
  if (!py::isinstance<py::array>(obj))
    type_error(op, ": ", name, " must be a numpy array, got ", std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(obj);
  const bool ok = integer ? a.dtype().is(py::dtype::of<int64_t>()) : a.dtype().is(py::dtype::of<float>());
  if (!ok)
    type_error(op, ": ", name, " must be ", integer ? "int64" : "float32", ", got ", std::string(py::str(a.dtype())));
  if (rank >= 0 && a.ndim() != rank)
    value_error(op, ": ", name, " must have rank ", rank, ", got shape ", shape_str(a));
  if (!(a.flags() & py::array::c_style))
    value_error(op, ": ", name, " must be C-contiguous");
  return a;
}

inline std::vector<py::ssize_t> dims(const py::array& a) {
  return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

inline const float* fptr(const py::array& a) { return static_cast<const float*>(a.data()); }
inline float* fptr_mut(py::array& a) { return static_cast<float*>(a.mutable_data()); }
inline const int64_t* iptr(const py::array& a) { return static_cast<const int64_t*>(a.data()); }

inline py::array_t<float> empty_f32(const std::vector<py::ssize_t>& shape) {
  return py::array_t<float>(shape);
}

inline py::array_t<float> zeros_f32(const std::vector<py::ssize_t>& shape) {
  py::array_t<float> a(shape);
  std::fill(a.mutable_data(), a.mutable_data() + a.size(), 0.0f);
  return a;
}

// A (h, w) pair of positive ints, e.g. strides or pool_size.
inline void check_pair(const std::pair<int64_t, int64_t>& p, const char* op, const char* name) {
  if (p.first <= 0 || p.second <= 0)
    value_error(op, ": ", name, " must be positive, got (", p.first, ", ", p.second, ")");
}

// "valid" or "same" (TensorFlow's rule); returns true for same.
inline bool parse_padding(const std::string& padding, const char* op) {
  if (padding == "same") return true;
  if (padding == "valid") return false;
  value_error(op, ": padding must be 'valid' or 'same', got '", padding, "'");
}

}  // namespace forgenet::bind

// Python-side parsing of the arguments the sliding-window ops (conv2d, pooling) share: (h, w) pairs
// and the padding word, for both modules (forgenet._C and forgenet._cuda), the way
// python/forgenet/kernels/_array.py reads them, so every layer says the same thing. The rules on the
// parsed values live in bindings/contracts/window.h.
#pragma once

#include <string>

#include "bindings/checks.h"
#include "bindings/contracts/window.h"

namespace forgenet::bind {

using contract::Pair;

// Python int-likes (int, numpy integers: anything with __index__), but not floats (nor bool's cousins
// that are not ints). False when v is not one or does not fit int64.
inline bool index_arg(const py::handle& v, int64_t& out) {
  if (!PyIndex_Check(v.ptr())) return false;
  py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
  if (!i) {
    PyErr_Clear();
    return false;
  }
  int overflow = 0;
  const long long r = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (overflow || (r == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;
  }
  out = r;
  return true;
}

// A Python int that fits int64, or ValueError naming the argument.
inline int64_t int_arg(const py::handle& v, const char* op, const char* name) {
  int64_t r;
  if (!index_arg(v, r)) {
    if (!PyIndex_Check(v.ptr())) type_error(op, ": ", name, " must be an int, got ", type_name(v));
    value_error(op, ": ", name, " must fit a 64-bit integer, got ", std::string(py::repr(v)));
  }
  return r;
}

// An int or a sequence of two ints, each >= 1.
inline Pair pair_arg(const py::handle& v, const char* op, const char* name) {
  Pair p{0, 0};
  bool ok = index_arg(v, p.h);
  if (ok) {
    p.w = p.h;
  } else if (py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v) && py::len(v) == 2) {
    auto s = py::reinterpret_borrow<py::sequence>(v);
    ok = index_arg(s[0], p.h) && index_arg(s[1], p.w);
  }
  if (!ok) value_error(op, ": ", name, " must be an int or a pair of ints, got ", std::string(py::repr(v)));
  contract::check_positive(p, op, name);
  return p;
}

// True for 'same', false for 'valid'.
inline bool padding_arg(const py::handle& v, const char* op) {
  if (py::isinstance<py::str>(v)) {
    const std::string s = v.cast<std::string>();
    if (s == "same") return true;
    if (s == "valid") return false;
  }
  value_error(op, ": padding must be 'valid' or 'same', got ", std::string(py::repr(v)));
}

// pool_size, strides (None: pool_size, as Keras) and padding.
inline contract::WindowArgs pool_args(const py::handle& pool, const py::handle& strides, const py::handle& padding,
                                      const char* op) {
  const Pair p = pair_arg(pool, op, "pool_size");
  const Pair s = strides.is_none() ? p : pair_arg(strides, op, "strides");
  return {p, s, padding_arg(padding, op)};
}

}  // namespace forgenet::bind

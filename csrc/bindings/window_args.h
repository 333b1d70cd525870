// Arguments shared by the sliding-window ops (conv2d, pooling): (h, w) pairs and the padding word,
// parsed and checked the way python/forgenet/kernels/_array.py does, so both layers say the same thing.
#pragma once

#include <string>
#include <utility>

#include "bindings/checks.h"

namespace forgenet::bind {

using Pair = std::pair<int64_t, int64_t>;

// Python int-likes (int, numpy integers: anything with __index__), but not floats.
inline bool index_arg(const py::handle& v, int64_t& out) {
  if (!PyIndex_Check(v.ptr())) return false;
  out = v.cast<int64_t>();
  return true;
}

// An int or a sequence of two ints, each >= 1.
inline Pair pair_arg(const py::handle& v, const char* op, const char* name) {
  Pair p;
  bool ok = index_arg(v, p.first);
  if (ok) {
    p.second = p.first;
  } else if (py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v) && py::len(v) == 2) {
    auto s = py::reinterpret_borrow<py::sequence>(v);
    ok = index_arg(s[0], p.first) && index_arg(s[1], p.second);
  }
  if (!ok) value_error(op, ": ", name, " must be an int or a pair of ints, got ", std::string(py::repr(v)));
  check_pair(p, op, name);
  return p;
}

// True for 'same', false for 'valid'.
inline bool padding_arg(const py::handle& v, const char* op) {
  if (!py::isinstance<py::str>(v))
    value_error(op, ": padding must be 'valid' or 'same', got ", std::string(py::repr(v)));
  return parse_padding(v.cast<std::string>(), op);
}

}  // namespace forgenet::bind

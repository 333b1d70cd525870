// attention's `scale` argument (both modules): None (1/sqrt(d)) or a real number.
#pragma once

#include "bindings/checks.h"

namespace forgenet::bind {

struct ScaleArg {
  bool given = false;
  double value = 0.0;
};

inline ScaleArg scale_arg(const py::object& scale, const char* op) {
  if (scale.is_none()) return {};
  if (py::isinstance<py::bool_>(scale) || !(py::isinstance<py::float_>(scale) || PyIndex_Check(scale.ptr())))
    type_error(op, ": scale must be a number or None, got ", type_name(scale));
  const double v = PyFloat_AsDouble(scale.ptr());
  if (v == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    value_error(op, ": scale must be representable as a float, got ", std::string(py::repr(scale)));
  }
  return {true, v};
}

}  // namespace forgenet::bind

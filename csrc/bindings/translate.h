// forgenet's C++ errors (common/errors.h) as Python exceptions; both extension modules register this
// once at import. pybind11 tries translators newest first, so these win over its own defaults
// (which would make a forgenet::TypeError a ValueError and an OutOfMemory a bare "std::bad_alloc").
#pragma once

#include <pybind11/pybind11.h>

#include "common/errors.h"

namespace forgenet::bind {

inline void register_translators() {
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const forgenet::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const forgenet::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const forgenet::OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });
}

}  // namespace forgenet::bind

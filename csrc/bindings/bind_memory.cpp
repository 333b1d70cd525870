// The caching allocator (cpu/buffer_pool.h) as a numpy memory handler. numpy keeps its handler in a
// context variable and records it in every array it allocates, so forgenet can install the pool
// around its own training and inference loops only: nothing changes for the user's other arrays, and
// an array made inside a loop is still freed through the pool after it.
#define PY_ARRAY_UNIQUE_SYMBOL forgenet_ARRAY_API
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define NPY_TARGET_VERSION NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>

#include <limits>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/buffer_pool.h"

namespace py = pybind11;

namespace forgenet::bind {
namespace {

void* h_malloc(void*, size_t n) { return pool::allocate(n, false); }
void* h_calloc(void*, size_t nelem, size_t elsize) {
  if (elsize && nelem > std::numeric_limits<size_t>::max() / elsize) return nullptr;
  return pool::allocate(nelem * elsize, true);
}
void* h_realloc(void*, void* p, size_t n) { return pool::reallocate(p, n); }
void h_free(void*, void* p, size_t) { pool::release(p); }

PyDataMem_Handler handler = {"forgenet_caching_pool", 1, {nullptr, h_malloc, h_calloc, h_realloc, h_free}};

}  // namespace

void bind_memory(py::module_& m) {
  if (_import_array() < 0) throw py::error_already_set();
  m.def("_pool_handler", []() {
    return py::reinterpret_steal<py::object>(PyCapsule_New(&handler, "mem_handler", nullptr));
  });
  // numpy's setter returns the handler it replaces; None restores numpy's default
  m.def("_numpy_handler_set", [](py::object capsule) {
    PyObject* old = PyDataMem_SetHandler(capsule.is_none() ? nullptr : capsule.ptr());
    if (!old) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(old);
  }, py::arg("capsule"));
  m.def("_pool_open", &pool::open_scope);
  m.def("_pool_close", &pool::close_scope);
  m.def("_pool_trim", &pool::trim);
  m.def("_pool_set_limit", [](long long bytes) {
    if (bytes < 0) value_error("forgenet.memory.set_cache_limit: bytes must be >= 0, got ", bytes);
    pool::set_limit(static_cast<size_t>(bytes));
  }, py::arg("bytes"));
  m.def("_pool_stats", []() {
    auto s = pool::stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes;
    d["cached_blocks"] = s.cached_blocks;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["limit_bytes"] = s.limit_bytes;
    d["scopes"] = s.scopes;
    return d;
  });
}

}  // namespace forgenet::bind

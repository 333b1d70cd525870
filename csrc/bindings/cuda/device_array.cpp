#include "bindings/cuda/device_array.h"

#include <stdexcept>

#include "cuda/runtime.h"

namespace forgenet::bind::cuda {

int64_t DeviceArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

std::string dtype_name(const std::string& t) {
  if (t.size() >= 3) {
    const std::string kind = t.substr(1, 1), bytes = t.substr(2);
    const int bits = 8 * std::atoi(bytes.c_str());
    if (kind == "f") return "float" + std::to_string(bits);
    if (kind == "i") return "int" + std::to_string(bits);
    if (kind == "u") return "uint" + std::to_string(bits);
    if (kind == "b") return "bool";
    if (kind == "c") return "complex" + std::to_string(bits);
  }
  return t;
}

DeviceArray device_array(const py::handle& obj, const char* op, const char* name, int rank, bool integer) {
  if (!py::hasattr(obj, "__cuda_array_interface__"))
    type_error(op, ": ", name, " must be a GPU array (CuPy, or anything with __cuda_array_interface__), got ",
               std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  py::object iface = obj.attr("__cuda_array_interface__");
  if (!py::isinstance<py::dict>(iface)) type_error(op, ": ", name, ".__cuda_array_interface__ must be a dict");
  auto d = py::reinterpret_borrow<py::dict>(iface);
  if (!d.contains("shape") || !d.contains("typestr") || !d.contains("data"))
    value_error(op, ": ", name, ".__cuda_array_interface__ lacks shape, typestr or data");

  // The protocol says tuples; lists are accepted too. Anything else is a malformed interface.
  auto seq = [&](const char* key) {
    py::object v = d[key];
    if (!py::isinstance<py::sequence>(v) || py::isinstance<py::str>(v))
      value_error(op, ": ", name, ".__cuda_array_interface__['", key, "'] must be a tuple");
    return py::reinterpret_borrow<py::sequence>(v);
  };
  DeviceArray a;
  a.owner = py::reinterpret_borrow<py::object>(obj);
  for (auto v : seq("shape")) a.shape.push_back(v.cast<int64_t>());
  a.typestr = d["typestr"].cast<std::string>();
  const std::string want = integer ? "<i8" : "<f4";
  if (a.typestr != want)
    type_error(op, ": ", name, " must be ", integer ? "int64" : "float32", ", got ", dtype_name(a.typestr));
  if (rank >= 0 && a.ndim() != rank)
    value_error(op, ": ", name, " must have rank ", rank, ", got shape ", shape_str(a.shape));
  if (d.contains("mask") && !d["mask"].is_none()) value_error(op, ": ", name, " must not be a masked array");

  // strides: None means C-contiguous; explicit strides must be C-contiguous ones (size-1 axes aside).
  if (d.contains("strides") && !d["strides"].is_none()) {
    auto st = seq("strides");
    if (static_cast<int64_t>(st.size()) != a.ndim())
      value_error(op, ": ", name, ".__cuda_array_interface__ has ", st.size(), " strides for rank ", a.ndim());
    int64_t expect = static_cast<int64_t>(integer ? sizeof(int64_t) : sizeof(float));
    for (int64_t i = a.ndim() - 1; i >= 0; --i) {
      if (a.dim(i) > 1 && st[static_cast<size_t>(i)].cast<int64_t>() != expect)
        value_error(op, ": ", name, " must be C-contiguous");
      expect *= a.dim(i);
    }
  }
  for (int64_t v : a.shape)
    if (v < 0) value_error(op, ": ", name, " has a negative dimension in shape ", shape_str(a.shape));

  auto data = seq("data");
  if (data.size() != 2) value_error(op, ": ", name, ".__cuda_array_interface__['data'] must be (pointer, read_only)");
  a.ptr = reinterpret_cast<void*>(data[0].cast<uintptr_t>());
  if (!a.ptr && a.size() > 0) value_error(op, ": ", name, " has a null data pointer but ", a.size(), " elements");
  return a;
}

DeviceArray allocate(const py::handle& alloc, const Shape& shape, const char* op, const char* what) {
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t[i] = py::int_(shape[i]);
  py::object out = alloc(t);
  DeviceArray a = device_array(out, op, what, static_cast<int>(shape.size()));
  if (a.shape != shape)
    value_error(op, ": alloc returned ", what, " of shape ", shape_str(a.shape), ", asked for ", shape_str(shape));
  return a;
}

void require_same_device(const char* op, const std::vector<std::pair<const char*, const DeviceArray*>>& arrays) {
  std::string why;
  if (gpu::device_count(&why) == 0) throw std::runtime_error(cat(op, ": no CUDA GPU found (", why, ")"));
  const int current = gpu::current_device(&why);
  if (current < 0) throw std::runtime_error(cat(op, ": cannot select a CUDA device (", why, ")"));
  for (const auto& [name, a] : arrays) {
    if (!a || a->size() == 0) continue;
    const int dev = gpu::pointer_device(a->ptr, &why);
    if (dev == -2) throw std::runtime_error(cat(op, ": cannot tell where ", name, " lives (", why, ")"));
    if (dev == -1) value_error(op, ": ", name, " is host memory; expected memory on CUDA device ", current);
    if (dev != current)
      value_error(op, ": ", name, " is on CUDA device ", dev, " but the current device is ", current,
                  " (run the op inside `with cupy.cuda.Device(", dev, "):`)");
  }
}

void check_cuda(cudaError_t err, const char* op) {
  if (err != cudaSuccess) throw std::runtime_error(cat(op, ": CUDA error: ", gpu::error_string(err)));
}

}  // namespace forgenet::bind::cuda

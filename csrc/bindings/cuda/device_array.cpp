#include "bindings/cuda/device_array.h"

#include <cstdlib>
#include <stdexcept>

#include "cuda/runtime.h"

namespace forgenet::bind::cuda {

std::string dtype_name(const std::string& t) {
  std::string name;
  if (t.size() >= 3) {
    contract::classify(t[1], std::atoi(t.c_str() + 2), t[0], &name);
    return name;
  }
  return t;
}

DeviceArray device_array(const py::handle& obj, const char* op, const char* name) {
  if (!py::hasattr(obj, "__cuda_array_interface__"))
    type_error(op, ": ", name, " must be a GPU array (CuPy, or anything with __cuda_array_interface__), got ",
               type_name(obj));
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
  auto integer = [&](const py::handle& v, const char* what) {
    int64_t r;
    if (!PyIndex_Check(v.ptr())) value_error(op, ": ", name, ".__cuda_array_interface__ has a non-integer ", what);
    py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
    int overflow = 0;
    r = i ? PyLong_AsLongLongAndOverflow(i.ptr(), &overflow) : -1;
    if (!i || overflow || PyErr_Occurred()) {
      PyErr_Clear();
      value_error(op, ": ", name, ".__cuda_array_interface__ has a ", what, " beyond int64");
    }
    return r;
  };
  DeviceArray a;
  a.owner = py::reinterpret_borrow<py::object>(obj);
  for (auto v : seq("shape")) a.shape.push_back(integer(v, "dimension"));
  if (!py::isinstance<py::str>(d["typestr"])) value_error(op, ": ", name, ".__cuda_array_interface__['typestr'] must be a str");
  a.typestr = d["typestr"].cast<std::string>();
  for (int64_t v : a.shape)
    if (v < 0) value_error(op, ": ", name, " has a negative dimension in shape ", shape_str(a.shape));
  checked_product(op, name, a.shape);  // the producer's claim, before anything multiplies it
  if (d.contains("mask") && !d["mask"].is_none()) value_error(op, ": ", name, " must not be a masked array");

  a.d.shape = a.shape;
  const int64_t item = a.typestr.size() >= 3 ? std::atoi(a.typestr.c_str() + 2) : 0;
  a.d.dtype = a.typestr.size() >= 3 ? contract::classify(a.typestr[1], item, a.typestr[0], &a.d.dtype_name)
                                    : contract::DType::Other;
  if (a.typestr.size() < 3) a.d.dtype_name = a.typestr;
  // strides: None means C-contiguous; explicit strides must be C-contiguous ones (size-1 axes aside).
  if (d.contains("strides") && !d["strides"].is_none()) {
    auto st = seq("strides");
    if (static_cast<int64_t>(st.size()) != a.ndim())
      value_error(op, ": ", name, ".__cuda_array_interface__ has ", st.size(), " strides for rank ", a.ndim());
    if (a.size() > 0) {
      int64_t expect = item;
      for (int64_t i = a.ndim() - 1; i >= 0; --i) {
        if (a.dim(i) > 1 && integer(st[static_cast<size_t>(i)], "stride") != expect) a.d.contiguous = false;
        expect = mul_sat(expect, a.dim(i));
      }
    }
  }

  auto data = seq("data");
  if (data.size() != 2) value_error(op, ": ", name, ".__cuda_array_interface__['data'] must be (pointer, read_only)");
  if (!PyIndex_Check(data[0].ptr())) value_error(op, ": ", name, ".__cuda_array_interface__['data'][0] must be an int");
  a.ptr = reinterpret_cast<void*>(data[0].cast<uintptr_t>());
  a.d.data = a.ptr;
  a.d.writeable = !py::bool_(data[1]);
  if (!a.ptr && a.size() > 0) value_error(op, ": ", name, " has a null data pointer but ", a.size(), " elements");
  return a;
}

DeviceArray device_array(const py::handle& obj, const char* op, const char* name, int rank, bool integer) {
  DeviceArray a = device_array(obj, op, name);
  contract::require(a.d, op, name, integer ? DType::I64 : DType::F32, rank);
  return a;
}

DeviceArray allocate(const py::handle& alloc, const Shape& shape, const char* op, const char* what) {
  for (int64_t v : shape)  // a workspace size that wrapped around
    if (v < 0) value_error(op, ": the size of ", what, " overflows int64");
  const int64_t n = contract::output_size(op, what, shape);
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t[i] = py::int_(shape[i]);
  py::object out;
  try {
    out = alloc(t);
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_MemoryError)) throw;
    throw OutOfMemory(cat(op, ": cannot allocate ", bytes_str(bytes_of(n, 4)), " of GPU memory for ", what, " of shape ",
                          shape_str(shape), " (", std::string(py::str(e.value())), ")"));
  }
  DeviceArray a = device_array(out, op, what, static_cast<int>(shape.size()));
  if (a.shape != shape)
    value_error(op, ": alloc returned ", what, " of shape ", shape_str(a.shape), ", asked for ", shape_str(shape));
  return a;
}

DeviceArray output(const py::handle& alloc, const Shape& shape, const char* op, const char* what, const py::handle& out,
                   size_t i, size_t count, const std::vector<std::pair<const char*, const DeviceArray*>>& inputs) {
  py::object o = out_arg(out, i, count, op);
  if (o.is_none()) return allocate(alloc, shape, op, what);
  const std::string label = count == 1 ? std::string("out") : cat("out[", i, "] (", what, ")");
  DeviceArray a = device_array(o, op, label.c_str());
  std::vector<const ArrayDesc*> d;
  std::vector<std::string> names;
  for (const auto& [n, arr] : inputs) names.push_back(n), d.push_back(arr ? &arr->d : nullptr);
  contract::require_out(a.d, op, label, shape, d, names);
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

bool sync_mode() {
  const char* v = std::getenv("FORGENET_CUDA_SYNC");
  return v && *v && std::string(v) != "0";
}

void before_launch(const char* op, cudaStream_t stream) {
  const cudaError_t stale = gpu::take_last_error();
  if (!sync_mode()) return;  // a stale error is someone else's: cleared, not reported as ours
  if (stale != cudaSuccess)
    throw std::runtime_error(cat(op, ": a CUDA error was pending before this op started (from earlier work, not ",
                                 op, "): ", gpu::error_string(stale)));
  const cudaError_t err = gpu::sync_stream(stream);
  if (err != cudaSuccess)
    throw std::runtime_error(cat(op, ": CUDA error from work queued before this op (FORGENET_CUDA_SYNC=1 found it "
                                 "at the synchronisation before ", op, "): ", gpu::error_string(err)));
}

void after_launch(const char* op, cudaStream_t stream, cudaError_t launch_err) {
  check_cuda(launch_err, op);
  if (!sync_mode()) return;
  const cudaError_t err = gpu::sync_stream(stream);
  if (err != cudaSuccess)
    throw std::runtime_error(cat(op, ": CUDA error while ", op, " ran (FORGENET_CUDA_SYNC=1 found it at the "
                                 "synchronisation after the op): ", gpu::error_string(err)));
}

}  // namespace forgenet::bind::cuda

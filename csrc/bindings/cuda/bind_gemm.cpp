#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/gemm.h"

namespace forgenet::bind::cuda {

namespace {

// alpha * op(a) @ op(b) + beta * c as a new (M, N) array; c may be None when beta == 0 (as forgenet._C.gemm).
py::object gemm(const py::handle& a_in, const py::handle& b_in, const py::handle& c_in, bool trans_a, bool trans_b,
                float alpha, float beta, uintptr_t stream, const py::handle& alloc) {
  const char* op = "gemm";
  const DeviceArray a = device_array(a_in, op, "a", 2), b = device_array(b_in, op, "b", 2);
  const int64_t M = trans_a ? a.dim(1) : a.dim(0), K = trans_a ? a.dim(0) : a.dim(1);
  const int64_t Kb = trans_b ? b.dim(1) : b.dim(0), N = trans_b ? b.dim(0) : b.dim(1);
  if (K != Kb)
    value_error(op, ": inner dimensions must match, got op(a) of shape (", M, ", ", K, ") and op(b) of shape (", Kb,
                ", ", N, ")");
  DeviceArray c;
  if (c_in.is_none()) {
    if (beta != 0.0f) value_error(op, ": c is required when beta != 0 (beta=", beta, ")");
  } else {
    c = device_array(c_in, op, "c", 2);
    if (c.dim(0) != M || c.dim(1) != N)
      value_error(op, ": c must have shape (", M, ", ", N, ") to match op(a) @ op(b), got ", shape_str(c.shape));
  }
  require_same_device(op, {{"a", &a}, {"b", &b}, {"c", c_in.is_none() ? nullptr : &c}});
  const DeviceArray out = allocate(alloc, {M, N}, op, "out");
  const int64_t ws_n = gpu::sgemm_workspace_floats(M, N, K);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::sgemm(trans_a, trans_b, M, N, K, alpha, a.f(), a.dim(1), b.f(), b.dim(1), beta,
                     beta != 0.0f ? c.f() : nullptr, N, out.fm(), N, ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  return out.owner;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::kw_only(), py::arg("stream"),
        py::arg("alloc"), "alpha * op(a) @ op(b) + beta * c (float32, row-major), op(x) = x.T when trans_x.");
}

}  // namespace forgenet::bind::cuda

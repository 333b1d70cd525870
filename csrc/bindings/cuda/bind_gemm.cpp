// gemm on CUDA arrays: the contract (contracts/gemm.h) checks, this file allocates and launches.
#include "bindings/contracts/gemm.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/gemm.h"

namespace forgenet::bind::cuda {

namespace {

// alpha * op(a) @ op(b) + beta * c as a new (M, N) array; c may be None when beta == 0 (as forgenet._C.gemm).
py::object gemm(const py::handle& a_in, const py::handle& b_in, const py::handle& c_in, bool trans_a, bool trans_b,
                float alpha, float beta, uintptr_t stream, const py::handle& alloc, const py::handle& out_in) {
  const char* op = "gemm";
  const DeviceArray a = device_array(a_in, op, "a"), b = device_array(b_in, op, "b");
  DeviceArray c;
  if (!c_in.is_none()) c = device_array(c_in, op, "c");
  const auto s = contract::gemm(op, a.d, b.d, c_in.is_none() ? nullptr : &c.d, trans_a, trans_b, beta);
  require_same_device(op, {{"a", &a}, {"b", &b}, {"c", c_in.is_none() ? nullptr : &c}});
  const bool out_is_c = !c_in.is_none() && !out_in.is_none() && out_in.ptr() == c_in.ptr();  // BLAS's C in / C out
  const DeviceArray out = output(alloc, {s.m, s.n}, op, "the output", out_in, 0, 1,
                                 {{"a", &a}, {"b", &b}, {"c", c_in.is_none() || out_is_c ? nullptr : &c}});
  const int64_t ws_n = gpu::sgemm_workspace_floats(s.m, s.n, s.k);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  launch(op, stream, [&] {
    return gpu::sgemm(trans_a, trans_b, s.m, s.n, s.k, alpha, a.f(), a.dim(1), b.f(), b.dim(1), beta,
                      beta != 0.0f ? c.f() : nullptr, s.n, out.fm(), s.n, ws.fm(), ws_n, as_stream(stream));
  });
  return out.owner;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::kw_only(), py::arg("stream"),
        py::arg("alloc"), py::arg("out") = py::none(), "alpha * op(a) @ op(b) + beta * c (float32, row-major), op(x) = x.T when trans_x.");
}

}  // namespace forgenet::bind::cuda

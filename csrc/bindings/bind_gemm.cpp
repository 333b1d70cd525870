#include <string>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernels.h"

namespace forgenet::bind {

namespace {

using SgemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                         const float*, int64_t, float, float*, int64_t);

// alpha * op(a) @ op(b) + beta * c as a new (M, N) array; c may be None when beta == 0.
py::array_t<float> gemm_impl(SgemmFn fn, const char* op, const py::handle& a_in, const py::handle& b_in,
                             const py::handle& c_in, bool trans_a, bool trans_b, float alpha, float beta) {
  auto a = checked(a_in, op, "a", 2);
  auto b = checked(b_in, op, "b", 2);
  const int64_t M = trans_a ? a.shape(1) : a.shape(0), K = trans_a ? a.shape(0) : a.shape(1);
  const int64_t Kb = trans_b ? b.shape(1) : b.shape(0), N = trans_b ? b.shape(0) : b.shape(1);
  if (K != Kb)
    value_error(op, ": inner dimensions must match, got op(a) of shape (", M, ", ", K, ") and op(b) of shape (",
                Kb, ", ", N, ")");
  auto out = empty_f32({M, N});
  if (c_in.is_none()) {
    if (beta != 0.0f) value_error(op, ": c is required when beta != 0 (beta=", beta, ")");
  } else {
    auto c = checked(c_in, op, "c", 2);
    if (c.shape(0) != M || c.shape(1) != N)
      value_error(op, ": c must have shape (", M, ", ", N, ") to match op(a) @ op(b), got ", shape_str(c));
    if (beta != 0.0f && M * N > 0) std::copy(fptr(c), fptr(c) + M * N, fptr_mut(out));
  }
  {
    py::gil_scoped_release nogil;
    fn(trans_a, trans_b, M, N, K, alpha, fptr(a), a.shape(1), fptr(b), b.shape(1), beta, fptr_mut(out), N);
  }
  return out;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", [](const py::handle& a, const py::handle& b, const py::handle& c, bool trans_a, bool trans_b,
                   float alpha, float beta) { return gemm_impl(&sgemm, "gemm", a, b, c, trans_a, trans_b, alpha, beta); },
        py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
        "alpha * op(a) @ op(b) + beta * c (float32, row-major), op(x) = x.T when trans_x.");
  m.def("gemm_reference", [](const py::handle& a, const py::handle& b, const py::handle& c, bool trans_a,
                             bool trans_b, float alpha, float beta) {
          return gemm_impl(&sgemm_reference, "gemm_reference", a, b, c, trans_a, trans_b, alpha, beta);
        },
        py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
        "The plain triple loop (double accumulators) that gemm is checked against.");
  m.def("gemm_kernel", [](int64_t m, int64_t n) {
    const auto& k = gemm::kernel_for(best_isa(), m, n);
    return py::make_tuple(std::string(k.name), k.mr, k.nr);
  }, py::arg("m") = int64_t(1) << 30, py::arg("n") = int64_t(1) << 30,
        "(isa, MR, NR): the micro-kernel gemm uses for an (m, n) result (FORGENET_ISA caps the isa).");
}

}  // namespace forgenet::bind

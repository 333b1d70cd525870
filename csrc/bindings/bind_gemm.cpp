#include <string>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/gemm.h"
#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernels.h"

namespace forgenet::bind {

namespace {

using SgemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                         const float*, int64_t, float, float*, int64_t);

// alpha * op(a) @ op(b) + beta * c as a new (M, N) array; c may be None when beta == 0.
py::array_t<float> gemm_impl(SgemmFn fn, const char* op, const py::handle& a_in, const py::handle& b_in,
                             const py::handle& c_in, bool trans_a, bool trans_b, float alpha, float beta,
                             const py::handle& out_in) {
  const Arg a(a_in, op, "a"), b(b_in, op, "b");
  Arg c;
  if (!c_in.is_none()) c = Arg(c_in, op, "c");
  const auto s = contract::gemm(op, a.d, b.d, c_in.is_none() ? nullptr : &c.d, trans_a, trans_b, beta);
  // out may be c itself (BLAS's C in / C out): the kernel then scales it in place
  const bool out_is_c = !c_in.is_none() && !out_in.is_none() && out_in.ptr() == c_in.ptr();
  auto out = output(op, "the output", {s.m, s.n}, out_in, 0, 1, {{"a", &a.d}, {"b", &b.d}, {"c", out_is_c ? nullptr : &c.d}});
  run(op, [&] {
    if (!c_in.is_none() && !out_is_c && beta != 0.0f && s.m * s.n > 0) std::copy(c.f(), c.f() + s.m * s.n, fptr_mut(out));
    fn(trans_a, trans_b, s.m, s.n, s.k, alpha, a.f(), a.d.dim(1), b.f(), b.d.dim(1), beta, fptr_mut(out), s.n);
  });
  return out;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", [](const py::handle& a, const py::handle& b, const py::handle& c, bool trans_a, bool trans_b,
                   float alpha, float beta, const py::handle& out) {
          return gemm_impl(&sgemm, "gemm", a, b, c, trans_a, trans_b, alpha, beta, out);
        },
        py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::kw_only(),
        py::arg("out") = py::none(),
        "alpha * op(a) @ op(b) + beta * c (float32, row-major), op(x) = x.T when trans_x.");
  m.def("gemm_reference", [](const py::handle& a, const py::handle& b, const py::handle& c, bool trans_a,
                             bool trans_b, float alpha, float beta) {
          return gemm_impl(&sgemm_reference, "gemm_reference", a, b, c, trans_a, trans_b, alpha, beta, py::none());
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

#include <memory>
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

// out may be c itself (BLAS's C in / C out): the kernel then scales it in place; otherwise c is copied
// into the output first when the kernel is to scale it (beta != 0).
bool is_c(const py::handle& c_in, const py::handle& out_in) {
  return !c_in.is_none() && !out_in.is_none() && out_in.ptr() == c_in.ptr();
}
bool copy_c(const py::handle& c_in, const py::handle& out_in, float beta, const contract::GemmShape& s) {
  return !c_in.is_none() && !is_c(c_in, out_in) && beta != 0.0f && s.m * s.n > 0;
}

// alpha * op(a) @ op(b) + beta * c as a new (M, N) array; c may be None when beta == 0.
py::array_t<float> gemm_impl(SgemmFn fn, const char* op, const py::handle& a_in, const py::handle& b_in,
                             const py::handle& c_in, bool trans_a, bool trans_b, float alpha, float beta,
                             const py::handle& out_in) {
  const Arg a(a_in, op, "a"), b(b_in, op, "b");
  Arg c;
  if (!c_in.is_none()) c = Arg(c_in, op, "c");
  const auto s = contract::gemm(op, a.d, b.d, c_in.is_none() ? nullptr : &c.d, trans_a, trans_b, beta);
  auto out = output(op, "the output", {s.m, s.n}, out_in, 0, 1,
                    {{"a", &a.d}, {"b", &b.d}, {"c", is_c(c_in, out_in) ? nullptr : &c.d}});
  run(op, [&] {
    if (copy_c(c_in, out_in, beta, s)) std::copy(c.f(), c.f() + s.m * s.n, fptr_mut(out));
    fn(trans_a, trans_b, s.m, s.n, s.k, alpha, a.f(), a.d.dim(1), b.f(), b.d.dim(1), beta, fptr_mut(out), s.n);
  });
  return out;
}

std::string tile(const gemm::Kernel& k) { return std::to_string(k.mr) + "x" + std::to_string(k.nr); }

// gemm with a PackedB in place of b (trans_b was fixed when it was packed).
py::array_t<float> gemm_packed_impl(const py::handle& a_in, const PackedB& b, const py::handle& c_in, bool trans_a,
                                    float alpha, float beta, const py::handle& out_in) {
  const char* op = "gemm";
  const Arg a(a_in, op, "a");
  Arg c;
  if (!c_in.is_none()) c = Arg(c_in, op, "c");
  const auto s = contract::gemm_packed(op, a.d, b.k, b.n, isa_name(b.isa), isa_name(best_isa()),
                                       c_in.is_none() ? nullptr : &c.d, trans_a, beta);
  auto out = output(op, "the output", {s.m, s.n}, out_in, 0, 1, {{"a", &a.d}, {"c", is_c(c_in, out_in) ? nullptr : &c.d}});
  run(op, [&] {
    if (copy_c(c_in, out_in, beta, s)) std::copy(c.f(), c.f() + s.m * s.n, fptr_mut(out));
    sgemm_packed(trans_a, s.m, alpha, a.f(), a.d.dim(1), b, beta, fptr_mut(out), s.n);
  });
  return out;
}

Isa isa_named(const py::handle& name) {
  const char* op = "gemm_pack_b";
  if (name.is_none()) return best_isa();
  const std::string n = py::str(name);
  for (Isa i : {Isa::generic, Isa::avx2, Isa::avx512})
    if (n == isa_name(i)) {
      if (static_cast<int>(i) > static_cast<int>(best_isa()))
        value_error(op, ": isa '", n, "' is beyond this process's ", isa_name(best_isa()));
      return i;
    }
  value_error(op, ": isa must be None, 'generic', 'avx2' or 'avx512', got '", n, "'");
}

}  // namespace

void bind_gemm(py::module_& m) {
  py::class_<PackedB, std::shared_ptr<PackedB>>(
      m, "PackedB", "op(b) packed once by gemm_pack_b for gemm's micro-kernel; pass it to gemm in place of b.")
      .def_property_readonly("shape", [](const PackedB& p) { return py::make_tuple(p.k, p.n); },
                             "(K, N): the shape of op(b)")
      .def_property_readonly("trans_b", [](const PackedB& p) { return p.trans; })
      .def_property_readonly("isa", [](const PackedB& p) { return std::string(isa_name(p.isa)); })
      .def_property_readonly("tile", [](const PackedB& p) { return tile(*p.kernel); }, "the micro-kernel's MR x NR")
      .def_property_readonly("nbytes", [](const PackedB& p) {
        return p.k * ((p.n + p.kernel->nr - 1) / p.kernel->nr * p.kernel->nr) * int64_t(sizeof(float));
      })
      .def("__repr__", [](const PackedB& p) {
        return "PackedB(shape=(" + std::to_string(p.k) + ", " + std::to_string(p.n) + "), trans_b=" +
               (p.trans ? "True" : "False") + ", isa='" + isa_name(p.isa) + "', tile='" + tile(*p.kernel) + "')";
      })
      .def("__reduce__", [](const PackedB&) -> py::object {
        type_error("PackedB: a packed b is bound to this process's kernels and cannot be pickled or copied; "
                   "pickle the array and call gemm_pack_b again");
      });
  m.def("gemm_pack_b", [](const py::handle& b_in, bool trans_b, const py::handle& isa) {
          const char* op = "gemm_pack_b";
          const Arg b(b_in, op, "b");
          contract::require(b.d, op, "b", contract::DType::F32, 2);
          const Isa target = isa_named(isa);
          const int64_t K = trans_b ? b.d.dim(1) : b.d.dim(0), N = trans_b ? b.d.dim(0) : b.d.dim(1);
          return run(op, [&] {
            return std::make_shared<PackedB>(sgemm_pack_b(target, trans_b, K, N, b.f(), b.d.dim(1)));
          });
        },
        py::arg("b"), py::arg("trans_b") = false, py::arg("isa") = py::none(),
        "op(b) packed for gemm (isa: the kernels to pack for, default this process's; tests only).");
  m.def("gemm", [](const py::handle& a, const py::handle& b, const py::handle& c, bool trans_a, bool trans_b,
                   float alpha, float beta, const py::handle& out) -> py::array_t<float> {
          if (py::isinstance<PackedB>(b)) {
            if (trans_b)
              value_error("gemm: trans_b must be False with a PackedB b (op(b) was fixed by gemm_pack_b's trans_b)");
            return gemm_packed_impl(a, b.cast<const PackedB&>(), c, trans_a, alpha, beta, out);
          }
          return gemm_impl(&sgemm, "gemm", a, b, c, trans_a, trans_b, alpha, beta, out);
        },
        py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::kw_only(),
        py::arg("out") = py::none(),
        "alpha * op(a) @ op(b) + beta * c (float32, row-major), op(x) = x.T when trans_x; b may be a PackedB.");
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
  m.def("_gemm_path", [](int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, bool packed) {
    if (m <= 0 || n <= 0 || k <= 0)
      value_error("_gemm_path: m, n and k must be positive, got (", m, ", ", n, ", ", k, ")");
    const gemm::Plan p = gemm::plan(trans_a, trans_b, m, n, k, packed);
    static const char* split[] = {"rows", "cols", "depth"};
    static const char* source[] = {"packed", "in_place", "sliver", "block", "shared"};
    py::dict d;
    d["tile"] = tile(*p.kernel);
    d["threads"] = p.threads;
    d["split"] = p.threads == 1 ? "serial" : split[p.split];
    d["b"] = source[static_cast<int>(p.b)];
    return d;
  }, py::arg("m"), py::arg("n"), py::arg("k"), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("packed") = false,
        "How gemm would run an m x n x k product here: {tile, threads, split, b} (b: where the first slab "
        "reads op(b) from: packed, in_place, sliver, block or shared). For tests.");
}

}  // namespace forgenet::bind

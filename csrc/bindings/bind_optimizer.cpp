// Fused optimizer updates (csrc/cpu/optimizer.h) on numpy arrays, in place: the weight and its slots are written, the
// gradient only read. Every array must be float32, C-contiguous and of the weight's shape; the
// written ones must be writeable and overlap no other argument (a hidden copy would lose the update).
#include <cstdint>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/optimizer.h"

namespace forgenet::bind {

namespace {

struct Arg {
  const char* name;
  py::array a;
  bool written;
};

py::array inplace(const py::handle& obj, const char* op, const char* name) {
  auto a = checked(obj, op, name, -1);
  if (!a.writeable()) value_error(op, ": ", name, " must be writeable (it is updated in place)");
  return a;
}

// Same shape as args[0]; no written array overlaps another argument.
void check_group(const char* op, const std::vector<Arg>& args) {
  const py::array& ref = args[0].a;
  for (const auto& [name, a, written] : args) {
    if (a.ndim() != ref.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), ref.shape()))
      value_error(op, ": ", name, " must have the shape of ", args[0].name, " ", shape_str(ref), ", got ",
                  shape_str(a));
  }
  if (ref.size() == 0) return;
  const auto bytes = static_cast<uintptr_t>(ref.size()) * sizeof(float);
  for (size_t i = 0; i < args.size(); ++i)
    for (size_t j = i + 1; j < args.size(); ++j) {
      if (!args[i].written && !args[j].written) continue;
      const auto p = reinterpret_cast<uintptr_t>(args[i].a.data()), q = reinterpret_cast<uintptr_t>(args[j].a.data());
      if (p < q + bytes && q < p + bytes)
        value_error(op, ": ", args[i].name, " and ", args[j].name, " must not share memory");
    }
}

void adam_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, const py::handle& v_in,
                 const py::handle& vhat_in, double alpha, double beta_1, double beta_2, double epsilon) {
  const char* op = "adam_update";
  std::vector<Arg> args{{"var", inplace(var_in, op, "var"), true},
                        {"grad", checked(grad_in, op, "grad", -1), false},
                        {"m", inplace(m_in, op, "m"), true},
                        {"v", inplace(v_in, op, "v"), true}};
  const bool amsgrad = !vhat_in.is_none();
  if (amsgrad) args.push_back({"vhat", inplace(vhat_in, op, "vhat"), true});
  check_group(op, args);
  float* vhat = amsgrad ? fptr_mut(args[4].a) : nullptr;
  // The numpy code rounded each Python float to float32 where it met the arrays: 1 - beta is formed in double first.
  const auto a = static_cast<float>(alpha), c1 = static_cast<float>(1.0 - beta_1),
             c2 = static_cast<float>(1.0 - beta_2), eps = static_cast<float>(epsilon);
  py::gil_scoped_release nogil;
  forgenet::adam_update(fptr_mut(args[0].a), fptr(args[1].a), fptr_mut(args[2].a), fptr_mut(args[3].a), vhat,
                        args[0].a.size(), a, c1, c2, eps);
}

// m: the momentum slot, or None for plain SGD (then momentum must be 0).
void sgd_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, double learning_rate,
                double momentum, bool nesterov) {
  const char* op = "sgd_update";
  std::vector<Arg> args{{"var", inplace(var_in, op, "var"), true}, {"grad", checked(grad_in, op, "grad", -1), false}};
  const bool has_m = !m_in.is_none();
  if (has_m) args.push_back({"m", inplace(m_in, op, "m"), true});
  check_group(op, args);
  if (!has_m && momentum != 0.0) value_error(op, ": m is None (plain SGD) but momentum is ", momentum);
  float* m = has_m ? fptr_mut(args[2].a) : nullptr;
  py::gil_scoped_release nogil;
  forgenet::sgd_update(fptr_mut(args[0].a), fptr(args[1].a), m, args[0].a.size(), static_cast<float>(learning_rate),
                       static_cast<float>(momentum), nesterov);
}

// avg: the average gradient (centered), mom: the momentum slot; None when unused (then momentum must be 0).
void rmsprop_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& v_in,
                    const py::handle& avg_in, const py::handle& mom_in, double learning_rate, double rho,
                    double momentum, double epsilon) {
  const char* op = "rmsprop_update";
  std::vector<Arg> args{{"var", inplace(var_in, op, "var"), true},
                        {"grad", checked(grad_in, op, "grad", -1), false},
                        {"v", inplace(v_in, op, "v"), true}};
  const bool centered = !avg_in.is_none(), has_mom = !mom_in.is_none();
  if (centered) args.push_back({"avg", inplace(avg_in, op, "avg"), true});
  if (has_mom) args.push_back({"mom", inplace(mom_in, op, "mom"), true});
  check_group(op, args);
  if (!has_mom && momentum != 0.0) value_error(op, ": mom is None but momentum is ", momentum);
  float* avg = centered ? fptr_mut(args[3].a) : nullptr;
  float* mom = has_mom ? fptr_mut(args.back().a) : nullptr;
  py::gil_scoped_release nogil;
  forgenet::rmsprop_update(fptr_mut(args[0].a), fptr(args[1].a), fptr_mut(args[2].a), avg, mom, args[0].a.size(),
                           static_cast<float>(learning_rate), static_cast<float>(rho), static_cast<float>(1.0 - rho),
                           static_cast<float>(momentum), static_cast<float>(epsilon));
}

// kind: common/optimizer_math.h's opt::Kind; s1 None for the one-slot kinds; consts as that step lists them.
void fused_update(int kind, const py::handle& var_in, const py::handle& grad_in, const py::handle& s0_in,
                  const py::handle& s1_in, const std::vector<double>& consts) {
  const char* op = "fused_update";
  if (kind < 0 || kind >= opt::kNumKinds) value_error(op, ": unknown optimizer kind ", kind);
  if (static_cast<int>(consts.size()) != opt::kConsts[kind])
    value_error(op, ": kind ", kind, " takes ", opt::kConsts[kind], " constants, got ", consts.size());
  const bool two = opt::kSlots[kind] == 2;
  if (two == s1_in.is_none()) value_error(op, ": kind ", kind, " takes ", opt::kSlots[kind], " slot arrays");
  std::vector<Arg> args{{"var", inplace(var_in, op, "var"), true},
                        {"grad", checked(grad_in, op, "grad", -1), false},
                        {"s0", inplace(s0_in, op, "s0"), true}};
  if (two) args.push_back({"s1", inplace(s1_in, op, "s1"), true});
  check_group(op, args);
  opt::Consts c{};
  for (size_t i = 0; i < consts.size(); ++i) c.k[i] = static_cast<float>(consts[i]);
  float* s1 = two ? fptr_mut(args[3].a) : nullptr;
  py::gil_scoped_release nogil;
  forgenet::fused_update(kind, fptr_mut(args[0].a), fptr(args[1].a), fptr_mut(args[2].a), s1, args[0].a.size(), c);
}

}  // namespace

void bind_optimizer(py::module_& m) {
  m.def("fused_update", &fused_update, py::arg("kind"), py::arg("var"), py::arg("grad"), py::arg("s0"), py::arg("s1"),
        py::arg("consts"),
        "Adagrad/Adadelta/Adamax/Nadam/Lion/Ftrl step in place (common/optimizer_math.h); float32 constants.");
  m.def("adam_update", &adam_update, py::arg("var"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("vhat"),
        py::arg("alpha"), py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"),
        "Adam step in place on var, m, v (and vhat unless None: amsgrad); Keras 3's formulas in float32.");
  m.def("sgd_update", &sgd_update, py::arg("var"), py::arg("grad"), py::arg("m"), py::arg("learning_rate"),
        py::arg("momentum"), py::arg("nesterov"),
        "SGD step in place on var (and the momentum slot m unless None); Keras 3's formulas in float32.");
  m.def("rmsprop_update", &rmsprop_update, py::arg("var"), py::arg("grad"), py::arg("v"), py::arg("avg"),
        py::arg("mom"), py::arg("learning_rate"), py::arg("rho"), py::arg("momentum"), py::arg("epsilon"),
        "RMSprop step in place on var, v (and avg: centered, mom: momentum, unless None); Keras 3's formulas.");
}

}  // namespace forgenet::bind

// Fused optimizer updates (csrc/cpu/optimizer.h) on numpy arrays, in place: the weight and its slots are written, the
// gradient only read. Every array must be float32, C-contiguous and of the weight's shape; the
// written ones must be writeable and overlap no other argument (a hidden copy would lose the update).
#include <cstdint>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/optimizer.h"
#include "cpu/optimizer.h"

namespace forgenet::bind {

namespace {

using contract::UpdateArg;

// An optional slot: None or an array.
struct Slot {
  bool given;
  Arg arg;
  Slot(const py::handle& obj, const char* op, const char* name) : given(!obj.is_none()) {
    if (given) arg = Arg(obj, op, name);
  }
  float* ptr() { return given ? arg.fm() : nullptr; }
};

void adam_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, const py::handle& v_in,
                 const py::handle& vhat_in, double alpha, double beta_1, double beta_2, double epsilon) {
  const char* op = "adam_update";
  Arg var(var_in, op, "var"), grad(grad_in, op, "grad"), m(m_in, op, "m"), v(v_in, op, "v");
  Slot vhat(vhat_in, op, "vhat");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}, {"m", &m.d, true}, {"v", &v.d, true}};
  if (vhat.given) args.push_back({"vhat", &vhat.arg.d, true});
  const int64_t n = contract::update_group(op, args);
  // The numpy code rounded each Python float to float32 where it met the arrays: 1 - beta is formed in double first.
  const auto a = static_cast<float>(alpha), c1 = static_cast<float>(1.0 - beta_1),
             c2 = static_cast<float>(1.0 - beta_2), eps = static_cast<float>(epsilon);
  run(op, [&] { forgenet::adam_update(var.fm(), grad.f(), m.fm(), v.fm(), vhat.ptr(), n, a, c1, c2, eps); });
}

// m: the momentum slot, or None for plain SGD (then momentum must be 0).
void sgd_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, double learning_rate,
                double momentum, bool nesterov) {
  const char* op = "sgd_update";
  Arg var(var_in, op, "var"), grad(grad_in, op, "grad");
  Slot m(m_in, op, "m");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}};
  if (m.given) args.push_back({"m", &m.arg.d, true});
  const int64_t n = contract::update_group(op, args);
  if (!m.given && momentum != 0.0) value_error(op, ": m is None (plain SGD) but momentum is ", momentum);
  run(op, [&] {
    forgenet::sgd_update(var.fm(), grad.f(), m.ptr(), n, static_cast<float>(learning_rate), static_cast<float>(momentum),
                         nesterov);
  });
}

// avg: the average gradient (centered), mom: the momentum slot; None when unused (then momentum must be 0).
void rmsprop_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& v_in,
                    const py::handle& avg_in, const py::handle& mom_in, double learning_rate, double rho,
                    double momentum, double epsilon) {
  const char* op = "rmsprop_update";
  Arg var(var_in, op, "var"), grad(grad_in, op, "grad"), v(v_in, op, "v");
  Slot avg(avg_in, op, "avg"), mom(mom_in, op, "mom");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}, {"v", &v.d, true}};
  if (avg.given) args.push_back({"avg", &avg.arg.d, true});
  if (mom.given) args.push_back({"mom", &mom.arg.d, true});
  const int64_t n = contract::update_group(op, args);
  if (!mom.given && momentum != 0.0) value_error(op, ": mom is None but momentum is ", momentum);
  run(op, [&] {
    forgenet::rmsprop_update(var.fm(), grad.f(), v.fm(), avg.ptr(), mom.ptr(), n, static_cast<float>(learning_rate),
                             static_cast<float>(rho), static_cast<float>(1.0 - rho), static_cast<float>(momentum),
                             static_cast<float>(epsilon));
  });
}

// kind: common/optimizer_math.h's opt::Kind; s1 None for the one-slot kinds; consts as that step lists them.
void fused_update(int kind, const py::handle& var_in, const py::handle& grad_in, const py::handle& s0_in,
                  const py::handle& s1_in, const std::vector<double>& consts) {
  const auto& k = contract::fused_kind(kind, consts.size(), !s1_in.is_none());
  const char* op = k.op;
  Arg var(var_in, op, "var"), grad(grad_in, op, "grad"), s0(s0_in, op, k.slots[0]);
  Slot s1(s1_in, op, k.slots[1] ? k.slots[1] : "s1");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}, {k.slots[0], &s0.d, true}};
  if (s1.given) args.push_back({k.slots[1], &s1.arg.d, true});
  const int64_t n = contract::update_group(op, args);
  opt::Consts c{};
  for (size_t i = 0; i < consts.size(); ++i) c.k[i] = static_cast<float>(consts[i]);
  run(op, [&] { forgenet::fused_update(kind, var.fm(), grad.f(), s0.fm(), s1.ptr(), n, c); });
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

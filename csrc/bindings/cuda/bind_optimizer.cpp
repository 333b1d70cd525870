// Fused optimizer updates (csrc/cuda/optimizer.h) on GPU arrays, in place, with forgenet._C's arguments
// and checks (float32, C-contiguous, the weight's shape, written arrays overlapping no other argument).
// `alloc` is unused: nothing is allocated. The checks are contracts/optimizer.h's, as on the CPU (a
// read-only __cuda_array_interface__ is refused for the written arrays).
#include <cstdint>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/contracts/optimizer.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/optimizer.h"

namespace forgenet::bind::cuda {

namespace {

using contract::UpdateArg;

// An optional slot: None or a device array.
struct Slot {
  bool given;
  DeviceArray arg;
  Slot(const py::handle& obj, const char* op, const char* name) : given(!obj.is_none()) {
    if (given) arg = device_array(obj, op, name);
  }
  float* ptr() const { return given ? arg.fm() : nullptr; }
};

// The contract, then the device check over every array of the group.
int64_t check_group(const char* op, const std::vector<UpdateArg>& args, const std::vector<const DeviceArray*>& arrays) {
  const int64_t n = contract::update_group(op, args);
  std::vector<std::pair<const char*, const DeviceArray*>> all;
  for (size_t i = 0; i < args.size(); ++i) all.push_back({args[i].name, arrays[i]});
  require_same_device(op, all);
  return n;
}

void adam_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, const py::handle& v_in,
                 const py::handle& vhat_in, double alpha, double beta_1, double beta_2, double epsilon,
                 uintptr_t stream, const py::handle& /*alloc*/) {
  const char* op = "adam_update";
  const DeviceArray var = device_array(var_in, op, "var"), grad = device_array(grad_in, op, "grad"),
                    m = device_array(m_in, op, "m"), v = device_array(v_in, op, "v");
  const Slot vhat(vhat_in, op, "vhat");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}, {"m", &m.d, true}, {"v", &v.d, true}};
  std::vector<const DeviceArray*> arrays{&var, &grad, &m, &v};
  if (vhat.given) args.push_back({"vhat", &vhat.arg.d, true}), arrays.push_back(&vhat.arg);
  const int64_t n = check_group(op, args, arrays);
  const auto a = static_cast<float>(alpha), c1 = static_cast<float>(1.0 - beta_1),
             c2 = static_cast<float>(1.0 - beta_2), eps = static_cast<float>(epsilon);
  launch(op, stream, [&] {
    return gpu::adam_update(var.fm(), grad.f(), m.fm(), v.fm(), vhat.ptr(), n, a, c1, c2, eps, as_stream(stream));
  });
}

// m: the momentum slot, or None for plain SGD (then momentum must be 0).
void sgd_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, double learning_rate,
                double momentum, bool nesterov, uintptr_t stream, const py::handle& /*alloc*/) {
  const char* op = "sgd_update";
  const DeviceArray var = device_array(var_in, op, "var"), grad = device_array(grad_in, op, "grad");
  const Slot m(m_in, op, "m");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}};
  std::vector<const DeviceArray*> arrays{&var, &grad};
  if (m.given) args.push_back({"m", &m.arg.d, true}), arrays.push_back(&m.arg);
  const int64_t n = check_group(op, args, arrays);
  if (!m.given && momentum != 0.0) value_error(op, ": m is None (plain SGD) but momentum is ", momentum);
  launch(op, stream, [&] {
    return gpu::sgd_update(var.fm(), grad.f(), m.ptr(), n, static_cast<float>(learning_rate), static_cast<float>(momentum),
                           nesterov, as_stream(stream));
  });
}

// avg: the average gradient (centered), mom: the momentum slot; None when unused (then momentum must be 0).
void rmsprop_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& v_in,
                    const py::handle& avg_in, const py::handle& mom_in, double learning_rate, double rho,
                    double momentum, double epsilon, uintptr_t stream, const py::handle& /*alloc*/) {
  const char* op = "rmsprop_update";
  const DeviceArray var = device_array(var_in, op, "var"), grad = device_array(grad_in, op, "grad"),
                    v = device_array(v_in, op, "v");
  const Slot avg(avg_in, op, "avg"), mom(mom_in, op, "mom");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}, {"v", &v.d, true}};
  std::vector<const DeviceArray*> arrays{&var, &grad, &v};
  if (avg.given) args.push_back({"avg", &avg.arg.d, true}), arrays.push_back(&avg.arg);
  if (mom.given) args.push_back({"mom", &mom.arg.d, true}), arrays.push_back(&mom.arg);
  const int64_t n = check_group(op, args, arrays);
  if (!mom.given && momentum != 0.0) value_error(op, ": mom is None but momentum is ", momentum);
  launch(op, stream, [&] {
    return gpu::rmsprop_update(var.fm(), grad.f(), v.fm(), avg.ptr(), mom.ptr(), n, static_cast<float>(learning_rate),
                               static_cast<float>(rho), static_cast<float>(1.0 - rho), static_cast<float>(momentum),
                               static_cast<float>(epsilon), as_stream(stream));
  });
}

// kind: common/optimizer_math.h's opt::Kind; s1 None for the one-slot kinds; consts as that step lists them.
void fused_update(int kind, const py::handle& var_in, const py::handle& grad_in, const py::handle& s0_in,
                  const py::handle& s1_in, const std::vector<double>& consts, uintptr_t stream,
                  const py::handle& /*alloc*/) {
  const auto& k = contract::fused_kind(kind, consts.size(), !s1_in.is_none());
  const char* op = k.op;
  const DeviceArray var = device_array(var_in, op, "var"), grad = device_array(grad_in, op, "grad"),
                    s0 = device_array(s0_in, op, k.slots[0]);
  const Slot s1(s1_in, op, k.slots[1] ? k.slots[1] : "s1");
  std::vector<UpdateArg> args{{"var", &var.d, true}, {"grad", &grad.d, false}, {k.slots[0], &s0.d, true}};
  std::vector<const DeviceArray*> arrays{&var, &grad, &s0};
  if (s1.given) args.push_back({k.slots[1], &s1.arg.d, true}), arrays.push_back(&s1.arg);
  const int64_t n = check_group(op, args, arrays);
  opt::Consts c{};
  for (size_t i = 0; i < consts.size(); ++i) c.k[i] = static_cast<float>(consts[i]);
  launch(op, stream, [&] {
    return gpu::fused_update(kind, var.fm(), grad.f(), s0.fm(), s1.ptr(), n, c, as_stream(stream));
  });
}

}  // namespace

void bind_optimizer(py::module_& m) {
  m.def("fused_update", &fused_update, py::arg("kind"), py::arg("var"), py::arg("grad"), py::arg("s0"), py::arg("s1"),
        py::arg("consts"), py::kw_only(), py::arg("stream"), py::arg("alloc"),
        "Adagrad/Adadelta/Adamax/Nadam/Lion/Ftrl step in place (common/optimizer_math.h); float32 constants.");
  m.def("adam_update", &adam_update, py::arg("var"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("vhat"),
        py::arg("alpha"), py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::kw_only(), py::arg("stream"),
        py::arg("alloc"),
        "Adam step in place on var, m, v (and vhat unless None: amsgrad); Keras 3's formulas in float32.");
  m.def("sgd_update", &sgd_update, py::arg("var"), py::arg("grad"), py::arg("m"), py::arg("learning_rate"),
        py::arg("momentum"), py::arg("nesterov"), py::kw_only(), py::arg("stream"), py::arg("alloc"),
        "SGD step in place on var (and the momentum slot m unless None); Keras 3's formulas in float32.");
  m.def("rmsprop_update", &rmsprop_update, py::arg("var"), py::arg("grad"), py::arg("v"), py::arg("avg"),
        py::arg("mom"), py::arg("learning_rate"), py::arg("rho"), py::arg("momentum"), py::arg("epsilon"),
        py::kw_only(), py::arg("stream"), py::arg("alloc"),
        "RMSprop step in place on var, v (and avg: centered, mom: momentum, unless None); Keras 3's formulas.");
}

}  // namespace forgenet::bind::cuda

// Fused optimizer updates (csrc/cuda/optimizer.h) on GPU arrays, in place, with forgenet._C's arguments
// and checks (float32, C-contiguous, the weight's shape, written arrays overlapping no other argument).
// `alloc` is unused: nothing is allocated. device_array.h does not expose the __cuda_array_interface__
// read-only flag, so a read-only array is not caught here.
#include <cstdint>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/optimizer.h"

namespace forgenet::bind::cuda {

namespace {

struct Arg {
  const char* name;
  DeviceArray a;
  bool written;
};

void check_group(const char* op, const std::vector<Arg>& args) {
  const Shape& ref = args[0].a.shape;
  for (const auto& [name, a, written] : args)
    if (a.shape != ref)
      value_error(op, ": ", name, " must have the shape of ", args[0].name, " ", shape_str(ref), ", got ",
                  shape_str(a.shape));
  std::vector<std::pair<const char*, const DeviceArray*>> all;
  for (const auto& arg : args) all.push_back({arg.name, &arg.a});
  require_same_device(op, all);
  const int64_t n = args[0].a.size();
  if (n == 0) return;
  const auto bytes = static_cast<uintptr_t>(n) * sizeof(float);
  for (size_t i = 0; i < args.size(); ++i)
    for (size_t j = i + 1; j < args.size(); ++j) {
      if (!args[i].written && !args[j].written) continue;
      const auto p = reinterpret_cast<uintptr_t>(args[i].a.ptr), q = reinterpret_cast<uintptr_t>(args[j].a.ptr);
      if (p < q + bytes && q < p + bytes)
        value_error(op, ": ", args[i].name, " and ", args[j].name, " must not share memory");
    }
}

void adam_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, const py::handle& v_in,
                 const py::handle& vhat_in, double alpha, double beta_1, double beta_2, double epsilon,
                 uintptr_t stream, const py::handle& /*alloc*/) {
  const char* op = "adam_update";
  std::vector<Arg> args{{"var", device_array(var_in, op, "var", -1), true},
                        {"grad", device_array(grad_in, op, "grad", -1), false},
                        {"m", device_array(m_in, op, "m", -1), true},
                        {"v", device_array(v_in, op, "v", -1), true}};
  const bool amsgrad = !vhat_in.is_none();
  if (amsgrad) args.push_back({"vhat", device_array(vhat_in, op, "vhat", -1), true});
  check_group(op, args);
  float* vhat = amsgrad ? args[4].a.fm() : nullptr;
  const auto a = static_cast<float>(alpha), c1 = static_cast<float>(1.0 - beta_1),
             c2 = static_cast<float>(1.0 - beta_2), eps = static_cast<float>(epsilon);
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::adam_update(args[0].a.fm(), args[1].a.f(), args[2].a.fm(), args[3].a.fm(), vhat, args[0].a.size(), a,
                           c1, c2, eps, as_stream(stream));
  }
  check_cuda(err, op);
}

// m: the momentum slot, or None for plain SGD (then momentum must be 0).
void sgd_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& m_in, double learning_rate,
                double momentum, bool nesterov, uintptr_t stream, const py::handle& /*alloc*/) {
  const char* op = "sgd_update";
  std::vector<Arg> args{{"var", device_array(var_in, op, "var", -1), true},
                        {"grad", device_array(grad_in, op, "grad", -1), false}};
  const bool has_m = !m_in.is_none();
  if (has_m) args.push_back({"m", device_array(m_in, op, "m", -1), true});
  check_group(op, args);
  if (!has_m && momentum != 0.0) value_error(op, ": m is None (plain SGD) but momentum is ", momentum);
  float* m = has_m ? args[2].a.fm() : nullptr;
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::sgd_update(args[0].a.fm(), args[1].a.f(), m, args[0].a.size(), static_cast<float>(learning_rate),
                          static_cast<float>(momentum), nesterov, as_stream(stream));
  }
  check_cuda(err, op);
}

// avg: the average gradient (centered), mom: the momentum slot; None when unused (then momentum must be 0).
void rmsprop_update(const py::handle& var_in, const py::handle& grad_in, const py::handle& v_in,
                    const py::handle& avg_in, const py::handle& mom_in, double learning_rate, double rho,
                    double momentum, double epsilon, uintptr_t stream, const py::handle& /*alloc*/) {
  const char* op = "rmsprop_update";
  std::vector<Arg> args{{"var", device_array(var_in, op, "var", -1), true},
                        {"grad", device_array(grad_in, op, "grad", -1), false},
                        {"v", device_array(v_in, op, "v", -1), true}};
  const bool centered = !avg_in.is_none(), has_mom = !mom_in.is_none();
  if (centered) args.push_back({"avg", device_array(avg_in, op, "avg", -1), true});
  if (has_mom) args.push_back({"mom", device_array(mom_in, op, "mom", -1), true});
  check_group(op, args);
  if (!has_mom && momentum != 0.0) value_error(op, ": mom is None but momentum is ", momentum);
  float* avg = centered ? args[3].a.fm() : nullptr;
  float* mom = has_mom ? args.back().a.fm() : nullptr;
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::rmsprop_update(args[0].a.fm(), args[1].a.f(), args[2].a.fm(), avg, mom, args[0].a.size(),
                              static_cast<float>(learning_rate), static_cast<float>(rho),
                              static_cast<float>(1.0 - rho), static_cast<float>(momentum),
                              static_cast<float>(epsilon), as_stream(stream));
  }
  check_cuda(err, op);
}

// kind: common/optimizer_math.h's opt::Kind; s1 None for the one-slot kinds; consts as that step lists them.
void fused_update(int kind, const py::handle& var_in, const py::handle& grad_in, const py::handle& s0_in,
                  const py::handle& s1_in, const std::vector<double>& consts, uintptr_t stream,
                  const py::handle& /*alloc*/) {
  const char* op = "fused_update";
  if (kind < 0 || kind >= opt::kNumKinds) value_error(op, ": unknown optimizer kind ", kind);
  if (static_cast<int>(consts.size()) != opt::kConsts[kind])
    value_error(op, ": kind ", kind, " takes ", opt::kConsts[kind], " constants, got ", consts.size());
  const bool two = opt::kSlots[kind] == 2;
  if (two == s1_in.is_none()) value_error(op, ": kind ", kind, " takes ", opt::kSlots[kind], " slot arrays");
  std::vector<Arg> args{{"var", device_array(var_in, op, "var", -1), true},
                        {"grad", device_array(grad_in, op, "grad", -1), false},
                        {"s0", device_array(s0_in, op, "s0", -1), true}};
  if (two) args.push_back({"s1", device_array(s1_in, op, "s1", -1), true});
  check_group(op, args);
  opt::Consts c{};
  for (size_t i = 0; i < consts.size(); ++i) c.k[i] = static_cast<float>(consts[i]);
  float* s1 = two ? args[3].a.fm() : nullptr;
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::fused_update(kind, args[0].a.fm(), args[1].a.f(), args[2].a.fm(), s1, args[0].a.size(), c,
                            as_stream(stream));
  }
  check_cuda(err, op);
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

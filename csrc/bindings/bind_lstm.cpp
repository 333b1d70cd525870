// LSTM on numpy arrays: the contract (contracts/lstm.h) checks, this file allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/lstm.h"
#include "cpu/lstm.h"

namespace forgenet::bind {

namespace {

// The six arrays forward and backward both take.
struct LstmInputs {
  // kernel None: x is already x @ kernel (N, T, 4U), the embedding-fed LSTM's pre-projected input
  Arg x, h0, c0, kernel, rk, bias;
  bool projected;
  LstmInputs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
             const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in)
      : x(x_in, op, "x"), h0(h0_in, op, "h0"), c0(c0_in, op, "c0"),
        kernel(kernel_in.is_none() ? Arg() : Arg(kernel_in, op, "kernel")), rk(rk_in, op, "recurrent_kernel"),
        bias(bias_in, op, "bias"), projected(kernel_in.is_none()) {}
  contract::LstmArgs desc() const { return {&x.d, &h0.d, &c0.d, projected ? nullptr : &kernel.d, &rk.d, &bias.d}; }
  const float* kernel_f() const { return projected ? nullptr : kernel.f(); }
  Inputs inputs(std::initializer_list<std::pair<const char*, const ArrayDesc*>> more = {}) const {
    Inputs in{{"x", &x.d}, {"h0", &h0.d}, {"c0", &c0.d}, {"kernel", projected ? nullptr : &kernel.d},
              {"recurrent_kernel", &rk.d}, {"bias", &bias.d}};
    for (const auto& [n, a] : more) in.names.push_back(n), in.d.push_back(a);
    return in;
  }
};

py::tuple lstm(const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
               const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in, bool training,
               const py::handle& out) {
  const char* op = "lstm";
  const LstmInputs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const LstmShape d = contract::lstm_forward(op, a.desc());
  const Inputs in = a.inputs();
  const size_t count = training ? 4 : 3;  // the reserve is an output only when training
  auto y = output(op, "y", {d.n, d.t, d.u}, out, 0, count, in);
  auto hT = output(op, "h_T", {d.n, d.u}, out, 1, count, in);
  auto cT = output(op, "c_T", {d.n, d.u}, out, 2, count, in);
  auto reserve = training ? output(op, "reserve", contract::lstm_reserve_shape(d), out, 3, count, in)
                          : empty_f32(op, "reserve", contract::lstm_reserve_shape(d));
  run(op, [&] {
    lstm_forward(a.x.f(), a.h0.f(), a.c0.f(), a.kernel_f(), a.rk.f(), a.bias.f(), d.n, d.t, d.d, d.u, fptr_mut(y),
                 fptr_mut(hT), fptr_mut(cT), fptr_mut(reserve));
  });
  if (training) return py::make_tuple(y, hT, cT, reserve);
  return py::make_tuple(y, hT, cT);
}

py::tuple lstm_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& dcT_in,
                        const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
                        const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in,
                        const py::handle& reserve_in, const py::handle& out) {
  const char* op = "lstm_backward";
  const LstmInputs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const Arg reserve(reserve_in, op, "reserve");
  Arg dy, dhT, dcT;
  if (!dy_in.is_none()) dy = Arg(dy_in, op, "dy");
  if (!dhT_in.is_none()) dhT = Arg(dhT_in, op, "dh_T");
  if (!dcT_in.is_none()) dcT = Arg(dcT_in, op, "dc_T");
  const LstmShape d = contract::lstm_backward(op, a.desc(), reserve.d, dy_in.is_none() ? nullptr : &dy.d,
                                              dhT_in.is_none() ? nullptr : &dhT.d, dcT_in.is_none() ? nullptr : &dcT.d);
  const Inputs in = a.inputs({{"reserve", &reserve.d}, {"dy", dy_in.is_none() ? nullptr : &dy.d},
                               {"dh_T", dhT_in.is_none() ? nullptr : &dhT.d}, {"dc_T", dcT_in.is_none() ? nullptr : &dcT.d}});
  auto dx = output(op, "dx", {d.n, d.t, d.d}, out, 0, 6, in);
  auto dh0 = output(op, "dh0", {d.n, d.u}, out, 1, 6, in);
  auto dc0 = output(op, "dc0", {d.n, d.u}, out, 2, 6, in);
  py::array_t<float> dk;  // projected: no kernel, no dkernel (dx is the gradient of x @ kernel)
  if (!a.projected) dk = output(op, "dkernel", a.kernel.d.shape, out, 3, 6, in);
  auto drk = output(op, "drecurrent_kernel", a.rk.d.shape, out, 4, 6, in);
  auto db = output(op, "dbias", a.bias.d.shape, out, 5, 6, in);
  run(op, [&] {
    forgenet::lstm_backward(dy_in.is_none() ? nullptr : dy.f(), dhT_in.is_none() ? nullptr : dhT.f(),
                            dcT_in.is_none() ? nullptr : dcT.f(), a.x.f(), a.h0.f(), a.c0.f(), a.kernel_f(), a.rk.f(),
                            reserve.f(), d.n, d.t, d.d, d.u, fptr_mut(dx), fptr_mut(dh0), fptr_mut(dc0),
                            a.projected ? nullptr : fptr_mut(dk),
                            fptr_mut(drk), fptr_mut(db));
  });
  return py::make_tuple(dx, dh0, dc0, a.projected ? py::object(py::none()) : py::object(dk), drk, db);
}

// Test hook: the vectorised sigmoid and tanh the kernels use.
py::tuple lstm_activations(const py::handle& x_in) {
  auto x = checked(x_in, "_lstm_activations", "x", 1);
  auto s = empty_like_f32("_lstm_activations", "sigmoid", x);
  auto t = empty_like_f32("_lstm_activations", "tanh", x);
  forgenet::lstm_activations(fptr(x), fptr_mut(s), fptr_mut(t), x.shape(0));
  return py::make_tuple(s, t);
}

}  // namespace

void bind_lstm(py::module_& m) {
  m.def("lstm", &lstm, py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("training") = false, py::kw_only(),
        py::arg("out") = py::none());
  m.def("lstm_backward", &lstm_backward, py::arg("dy"), py::arg("dh_T"), py::arg("dc_T"), py::arg("x"),
        py::arg("h0"), py::arg("c0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("reserve"), py::kw_only(), py::arg("out") = py::none());
  m.def("_lstm_activations", &lstm_activations, py::arg("x"));
}

}  // namespace forgenet::bind

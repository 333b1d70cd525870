// GRU on numpy arrays: the contract (contracts/gru.h) checks, this file allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/rnn_args.h"
#include "bindings/contracts/gru.h"
#include "cpu/gru.h"

namespace forgenet::bind {

namespace {

using GruInputs = RecurrentInputs<contract::GruArgs>;

py::tuple gru(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
              const py::handle& bias_in, bool reset_after, bool training, const py::handle& out) {
  const char* op = "gru";
  const GruInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const RnnShape d = contract::gru_forward(op, a.desc(), reset_after);
  const Inputs in = a.inputs();
  const size_t count = training ? 3 : 2;  // the reserve is an output only when training
  auto y = output(op, "y", {d.n, d.t, d.u}, out, 0, count, in);
  auto hT = output(op, "h_T", {d.n, d.u}, out, 1, count, in);
  const auto rs = contract::reserve_shape(contract::kGruCell, d);
  auto reserve = training ? output(op, "reserve", rs, out, 2, count, in) : empty_f32(op, "reserve", rs);
  run(op, [&] {
    const float* b = a.bias.f();
    gru_forward(a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), b, reset_after ? b + kGruGates * d.u : nullptr, reset_after,
                d.n, d.t, d.d, d.u, fptr_mut(y), fptr_mut(hT), fptr_mut(reserve));
  });
  if (training) return py::make_tuple(y, hT, reserve);
  return py::make_tuple(y, hT);
}

py::tuple gru_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                       const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                       const py::handle& bias_in, const py::handle& reserve_in, bool reset_after, const py::handle& out) {
  const char* op = "gru_backward";
  const GruInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const Arg reserve(reserve_in, op, "reserve");
  const OptArg dy(dy_in, op, "dy"), dhT(dhT_in, op, "dh_T");
  const RnnShape d = contract::gru_backward(op, a.desc(), reset_after, reserve.d, dy.d(), dhT.d());
  const Inputs in = a.inputs({{"reserve", &reserve.d}, {"dy", dy.d()}, {"dh_T", dhT.d()}});
  auto dx = output(op, "dx", {d.n, d.t, d.d}, out, 0, 5, in);
  auto dh0 = output(op, "dh0", {d.n, d.u}, out, 1, 5, in);
  auto dk = output(op, "dkernel", a.kernel.d.shape, out, 2, 5, in);
  auto drk = output(op, "drecurrent_kernel", a.rk.d.shape, out, 3, 5, in);
  auto db = output(op, "dbias", a.bias.d.shape, out, 4, 5, in);
  run(op, [&] {
    float* b = fptr_mut(db);
    forgenet::gru_backward(dy.f(), dhT.f(), a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), reserve.f(), reset_after, d.n,
                           d.t, d.d, d.u, fptr_mut(dx), fptr_mut(dh0), fptr_mut(dk), fptr_mut(drk), b,
                           reset_after ? b + kGruGates * d.u : nullptr);
  });
  return py::make_tuple(dx, dh0, dk, drk, db);
}

}  // namespace

void bind_gru(py::module_& m) {
  m.def("gru", &gru, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("reset_after") = true, py::arg("training") = false, py::kw_only(), py::arg("out") = py::none());
  m.def("gru_backward", &gru_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"),
        py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::arg("reset_after") = true, py::kw_only(), py::arg("out") = py::none());
}

}  // namespace forgenet::bind

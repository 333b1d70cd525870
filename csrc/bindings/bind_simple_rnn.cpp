// SimpleRNN on numpy arrays: the contract (contracts/simple_rnn.h) checks, this file allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/simple_rnn.h"
#include "bindings/rnn_args.h"
#include "cpu/simple_rnn.h"

namespace forgenet::bind {

namespace {

using RnnInputs = RecurrentInputs<contract::SimpleRnnArgs>;

py::tuple simple_rnn(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
                     const py::handle& rk_in, const py::handle& bias_in, const py::handle& activation, bool training,
                     const py::handle& out) {
  const char* op = "simple_rnn";
  const RnnInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const RnnShape d = contract::simple_rnn_forward(op, a.desc());
  const RnnActivation act = rnn_activation_arg(activation, op);
  const Inputs in = a.inputs();
  const size_t count = training ? 3 : 2;  // the reserve is an output only when training
  auto y = output(op, "y", {d.n, d.t, d.u}, out, 0, count, in);
  auto hT = output(op, "h_T", {d.n, d.u}, out, 1, count, in);
  py::array_t<float> reserve;
  if (training) reserve = output(op, "reserve", contract::simple_rnn_reserve_shape(d), out, 2, count, in);
  run(op, [&] {
    simple_rnn_forward(a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), a.bias.f(), act, d.n, d.t, d.d, d.u, fptr_mut(y),
                       fptr_mut(hT), training ? fptr_mut(reserve) : nullptr);
  });
  if (training) return py::make_tuple(y, hT, reserve);
  return py::make_tuple(y, hT);
}

py::tuple simple_rnn_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                              const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                              const py::handle& bias_in, const py::handle& reserve_in, const py::handle& activation,
                              const py::handle& out) {
  const char* op = "simple_rnn_backward";
  const RnnInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const Arg reserve(reserve_in, op, "reserve");
  const OptArg dy(dy_in, op, "dy"), dhT(dhT_in, op, "dh_T");
  const RnnShape d = contract::simple_rnn_backward(op, a.desc(), reserve.d, dy.d(), dhT.d());
  const RnnActivation act = rnn_activation_arg(activation, op);
  const Inputs in = a.inputs({{"reserve", &reserve.d}, {"dy", dy.d()}, {"dh_T", dhT.d()}});
  auto dx = output(op, "dx", {d.n, d.t, d.d}, out, 0, 5, in);
  auto dh0 = output(op, "dh0", {d.n, d.u}, out, 1, 5, in);
  auto dk = output(op, "dkernel", a.kernel.d.shape, out, 2, 5, in);
  auto drk = output(op, "drecurrent_kernel", a.rk.d.shape, out, 3, 5, in);
  auto db = output(op, "dbias", a.bias.d.shape, out, 4, 5, in);
  run(op, [&] {
    forgenet::simple_rnn_backward(dy.f(), dhT.f(), a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), reserve.f(), act, d.n,
                                  d.t, d.d, d.u, fptr_mut(dx), fptr_mut(dh0), fptr_mut(dk), fptr_mut(drk),
                                  fptr_mut(db));
  });
  return py::make_tuple(dx, dh0, dk, drk, db);
}

}  // namespace

void bind_simple_rnn(py::module_& m) {
  m.def("simple_rnn", &simple_rnn, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"),
        py::arg("bias"), py::arg("activation") = "tanh", py::arg("training") = false, py::kw_only(),
        py::arg("out") = py::none());
  m.def("simple_rnn_backward", &simple_rnn_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"),
        py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::arg("activation") = "tanh", py::kw_only(), py::arg("out") = py::none());
}

}  // namespace forgenet::bind

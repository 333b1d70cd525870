#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/rnn_args.h"
#include "cpu/simple_rnn.h"

namespace forgenet::bind {

namespace {

struct Dims { int64_t N, T, D, U; };

struct RnnArgs {
  py::array x, h0, kernel, rk, bias;
  Dims d;
  RnnArgs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
          const py::handle& rk_in, const py::handle& bias_in)
      : x(checked(x_in, op, "x", 3)),
        h0(checked(h0_in, op, "h0", 2)),
        kernel(checked(kernel_in, op, "kernel", 2)),
        rk(checked(rk_in, op, "recurrent_kernel", 2)),
        bias(checked(bias_in, op, "bias", 1)) {
    const int64_t N = x.shape(0), T = x.shape(1), D = x.shape(2), U = rk.shape(0);
    if (rk.shape(1) != U) value_error(op, ": recurrent_kernel must have shape (units, units), got ", shape_str(rk));
    if (kernel.shape(0) != D || kernel.shape(1) != U)
      value_error(op, ": kernel must have shape (", D, ", ", U, ") for x ", shape_str(x), " and units=", U,
                  ", got ", shape_str(kernel));
    if (bias.shape(0) != U) value_error(op, ": bias must have shape (", U, ",) for units=", U, ", got ", shape_str(bias));
    if (h0.shape(0) != N || h0.shape(1) != U)
      value_error(op, ": h0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(h0));
    d = {N, T, D, U};
  }
};

py::tuple simple_rnn(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
                     const py::handle& rk_in, const py::handle& bias_in, const std::string& activation,
                     bool training) {
  const char* op = "simple_rnn";
  const RnnArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const RnnActivation act = rnn_activation_arg(activation, op);
  const Dims& d = a.d;
  auto y = empty_f32({d.N, d.T, d.U});
  auto hT = empty_f32({d.N, d.U});
  py::array_t<float> reserve = training ? empty_f32({d.N, d.T, d.U}) : empty_f32({0});
  {
    py::gil_scoped_release nogil;
    simple_rnn_forward(fptr(a.x), fptr(a.h0), fptr(a.kernel), fptr(a.rk), fptr(a.bias), act, d.N, d.T, d.D, d.U,
                       fptr_mut(y), fptr_mut(hT), training ? fptr_mut(reserve) : nullptr);
  }
  if (training) return py::make_tuple(y, hT, reserve);
  return py::make_tuple(y, hT);
}

const float* optional_f32(const py::handle& obj, py::array& keep, const char* op, const char* name,
                          const std::vector<py::ssize_t>& want) {
  if (obj.is_none()) return nullptr;
  keep = checked(obj, op, name, static_cast<int>(want.size()));
  if (dims(keep) != want)
    value_error(op, ": ", name, " must have shape (", want[0], ", ", want[1],
                want.size() == 3 ? cat(", ", want[2]) : std::string(), "), got ", shape_str(keep));
  return fptr(keep);
}

py::tuple simple_rnn_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                              const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                              const py::handle& bias_in, const py::handle& reserve_in, const std::string& activation) {
  const char* op = "simple_rnn_backward";
  const RnnArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const RnnActivation act = rnn_activation_arg(activation, op);
  const Dims& d = a.d;
  auto reserve = checked(reserve_in, op, "reserve", 3);
  if (dims(reserve) != std::vector<py::ssize_t>{d.N, d.T, d.U})
    value_error(op, ": reserve must have shape (", d.N, ", ", d.T, ", ", d.U,
                ") (batch, steps, units) as returned by simple_rnn(..., training=True), got ", shape_str(reserve));
  py::array dy_a, dh_a;
  const float* dy = optional_f32(dy_in, dy_a, op, "dy", {d.N, d.T, d.U});
  const float* dhT = optional_f32(dhT_in, dh_a, op, "dh_T", {d.N, d.U});
  auto dx = empty_f32({d.N, d.T, d.D});
  auto dh0 = empty_f32({d.N, d.U});
  auto dk = empty_f32({d.D, d.U});
  auto drk = empty_f32({d.U, d.U});
  auto db = empty_f32({d.U});
  {
    py::gil_scoped_release nogil;
    forgenet::simple_rnn_backward(dy, dhT, fptr(a.x), fptr(a.h0), fptr(a.kernel), fptr(a.rk), fptr(reserve), act,
                                  d.N, d.T, d.D, d.U, fptr_mut(dx), fptr_mut(dh0), fptr_mut(dk), fptr_mut(drk),
                                  fptr_mut(db));
  }
  return py::make_tuple(dx, dh0, dk, drk, db);
}

}  // namespace

void bind_simple_rnn(py::module_& m) {
  m.def("simple_rnn", &simple_rnn, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"),
        py::arg("bias"), py::arg("activation") = "tanh", py::arg("training") = false);
  m.def("simple_rnn_backward", &simple_rnn_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"),
        py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::arg("activation") = "tanh");
}

}  // namespace forgenet::bind

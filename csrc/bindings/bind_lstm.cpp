#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/lstm.h"

namespace forgenet::bind {

namespace {

struct Dims { int64_t N, T, D, U; };

// Shapes every LSTM call shares; U comes from recurrent_kernel (U, 4U) as in Keras.
Dims check_lstm_args(const char* op, const py::array& x, const py::array& h0, const py::array& c0,
                     const py::array& kernel, const py::array& rk, const py::array& bias) {
  const int64_t N = x.shape(0), T = x.shape(1), D = x.shape(2), U = rk.shape(0);
  if (rk.shape(1) != 4 * U)
    value_error(op, ": recurrent_kernel must have shape (units, 4*units), got ", shape_str(rk));
  if (kernel.shape(0) != D || kernel.shape(1) != 4 * U)
    value_error(op, ": kernel must have shape (", D, ", ", 4 * U, ") for x ", shape_str(x),
                " and units=", U, ", got ", shape_str(kernel));
  if (bias.shape(0) != 4 * U)
    value_error(op, ": bias must have shape (", 4 * U, ",) for units=", U, ", got ", shape_str(bias));
  if (h0.shape(0) != N || h0.shape(1) != U)
    value_error(op, ": h0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(h0));
  if (c0.shape(0) != N || c0.shape(1) != U)
    value_error(op, ": c0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(c0));
  return {N, T, D, U};
}

// The six arrays forward and backward both take, checked once for dtype, rank and shape.
struct LstmArgs {
  py::array x, h0, c0, kernel, rk, bias;
  Dims d;
  LstmArgs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
           const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in)
      : x(checked(x_in, op, "x", 3)),
        h0(checked(h0_in, op, "h0", 2)),
        c0(checked(c0_in, op, "c0", 2)),
        kernel(checked(kernel_in, op, "kernel", 2)),
        rk(checked(rk_in, op, "recurrent_kernel", 2)),
        bias(checked(bias_in, op, "bias", 1)),
        d(check_lstm_args(op, x, h0, c0, kernel, rk, bias)) {}
};

py::tuple lstm(const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
               const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in,
               bool training) {
  const char* op = "lstm";
  const LstmArgs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const Dims& d = a.d;
  auto y = empty_f32({d.N, d.T, d.U});
  auto hT = empty_f32({d.N, d.U});
  auto cT = empty_f32({d.N, d.U});
  auto reserve = empty_f32({d.N, d.T, kLstmReserveGates * d.U});
  {
    py::gil_scoped_release nogil;
    lstm_forward(fptr(a.x), fptr(a.h0), fptr(a.c0), fptr(a.kernel), fptr(a.rk), fptr(a.bias), d.N, d.T, d.D,
                 d.U, fptr_mut(y), fptr_mut(hT), fptr_mut(cT), fptr_mut(reserve));
  }
  if (training) return py::make_tuple(y, hT, cT, reserve);
  return py::make_tuple(y, hT, cT);
}

// An optional float32 array of an exact shape; None gives null.
const float* optional_f32(const py::handle& obj, py::array& keep, const char* op, const char* name,
                          const std::vector<py::ssize_t>& want) {
  if (obj.is_none()) return nullptr;
  keep = checked(obj, op, name, static_cast<int>(want.size()));
  if (dims(keep) != want)
    value_error(op, ": ", name, " must have shape (", want[0], ", ", want[1],
                want.size() == 3 ? cat(", ", want[2]) : std::string(), "), got ", shape_str(keep));
  return fptr(keep);
}

py::tuple lstm_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& dcT_in,
                        const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
                        const py::handle& kernel_in, const py::handle& rk_in,
                        const py::handle& bias_in, const py::handle& reserve_in) {
  const char* op = "lstm_backward";
  const LstmArgs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const Dims& d = a.d;
  auto reserve = checked(reserve_in, op, "reserve", 3);
  if (reserve.shape(0) != d.N || reserve.shape(1) != d.T || reserve.shape(2) != kLstmReserveGates * d.U)
    value_error(op, ": reserve must have shape (", d.N, ", ", d.T, ", ", kLstmReserveGates * d.U,
                ") (batch, steps, 5*units) as returned by lstm(..., training=True), got ", shape_str(reserve));
  py::array dy_a, dh_a, dc_a;
  const float* dy = optional_f32(dy_in, dy_a, op, "dy", {d.N, d.T, d.U});
  const float* dhT = optional_f32(dhT_in, dh_a, op, "dh_T", {d.N, d.U});
  const float* dcT = optional_f32(dcT_in, dc_a, op, "dc_T", {d.N, d.U});
  auto dx = empty_f32({d.N, d.T, d.D});
  auto dh0 = empty_f32({d.N, d.U});
  auto dc0 = empty_f32({d.N, d.U});
  auto dk = empty_f32({d.D, 4 * d.U});
  auto drk = empty_f32({d.U, 4 * d.U});
  auto db = empty_f32({4 * d.U});
  {
    py::gil_scoped_release nogil;
    forgenet::lstm_backward(dy, dhT, dcT, fptr(a.x), fptr(a.h0), fptr(a.c0), fptr(a.kernel), fptr(a.rk),
                            fptr(reserve), d.N, d.T, d.D, d.U, fptr_mut(dx), fptr_mut(dh0),
                            fptr_mut(dc0), fptr_mut(dk), fptr_mut(drk), fptr_mut(db));
  }
  return py::make_tuple(dx, dh0, dc0, dk, drk, db);
}

// Test hook: the vectorised sigmoid and tanh the kernels use.
py::tuple lstm_activations(const py::handle& x_in) {
  auto x = checked(x_in, "_lstm_activations", "x", 1);
  auto s = empty_f32(dims(x));
  auto t = empty_f32(dims(x));
  forgenet::lstm_activations(fptr(x), fptr_mut(s), fptr_mut(t), x.shape(0));
  return py::make_tuple(s, t);
}

}  // namespace

void bind_lstm(py::module_& m) {
  m.def("lstm", &lstm, py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("training") = false);
  m.def("lstm_backward", &lstm_backward, py::arg("dy"), py::arg("dh_T"), py::arg("dc_T"), py::arg("x"),
        py::arg("h0"), py::arg("c0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("reserve"));
  m.def("_lstm_activations", &lstm_activations, py::arg("x"));
}

}  // namespace forgenet::bind

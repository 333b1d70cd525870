#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/gru.h"

namespace forgenet::bind {

namespace {

struct Dims { int64_t N, T, D, U; };

// The five arrays forward and backward share, checked for dtype and rank, then shapes (U comes from
// recurrent_kernel (U, 3U) as in Keras; the bias is (2, 3U) with reset_after, (3U,) without).
struct GruArgs {
  py::array x, h0, kernel, rk, bias;
  Dims d;
  GruArgs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
          const py::handle& rk_in, const py::handle& bias_in, bool reset_after)
      : x(checked(x_in, op, "x", 3)),
        h0(checked(h0_in, op, "h0", 2)),
        kernel(checked(kernel_in, op, "kernel", 2)),
        rk(checked(rk_in, op, "recurrent_kernel", 2)),
        bias(checked(bias_in, op, "bias", reset_after ? 2 : 1)) {
    const int64_t N = x.shape(0), T = x.shape(1), D = x.shape(2), U = rk.shape(0);
    if (rk.shape(1) != 3 * U)
      value_error(op, ": recurrent_kernel must have shape (units, 3*units), got ", shape_str(rk));
    if (kernel.shape(0) != D || kernel.shape(1) != 3 * U)
      value_error(op, ": kernel must have shape (", D, ", ", 3 * U, ") for x ", shape_str(x), " and units=", U,
                  ", got ", shape_str(kernel));
    if (reset_after && (bias.shape(0) != 2 || bias.shape(1) != 3 * U))
      value_error(op, ": bias must have shape (2, ", 3 * U, ") for units=", U, " with reset_after=True, got ",
                  shape_str(bias));
    if (!reset_after && bias.shape(0) != 3 * U)
      value_error(op, ": bias must have shape (", 3 * U, ",) for units=", U, " with reset_after=False, got ",
                  shape_str(bias));
    if (h0.shape(0) != N || h0.shape(1) != U)
      value_error(op, ": h0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(h0));
    d = {N, T, D, U};
  }
};

py::tuple gru(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
              const py::handle& bias_in, bool reset_after, bool training) {
  const char* op = "gru";
  const GruArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in, reset_after);
  const Dims& d = a.d;
  auto y = empty_f32({d.N, d.T, d.U});
  auto hT = empty_f32({d.N, d.U});
  auto reserve = empty_f32({d.N, d.T, kGruReserveGates * d.U});
  {
    py::gil_scoped_release nogil;
    const float* b = fptr(a.bias);
    gru_forward(fptr(a.x), fptr(a.h0), fptr(a.kernel), fptr(a.rk), b, reset_after ? b + 3 * d.U : nullptr,
                reset_after, d.N, d.T, d.D, d.U, fptr_mut(y), fptr_mut(hT), fptr_mut(reserve));
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

py::tuple gru_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                       const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                       const py::handle& bias_in, const py::handle& reserve_in, bool reset_after) {
  const char* op = "gru_backward";
  const GruArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in, reset_after);
  const Dims& d = a.d;
  auto reserve = checked(reserve_in, op, "reserve", 3);
  if (reserve.shape(0) != d.N || reserve.shape(1) != d.T || reserve.shape(2) != kGruReserveGates * d.U)
    value_error(op, ": reserve must have shape (", d.N, ", ", d.T, ", ", kGruReserveGates * d.U,
                ") (batch, steps, 5*units) as returned by gru(..., training=True), got ", shape_str(reserve));
  py::array dy_a, dh_a;
  const float* dy = optional_f32(dy_in, dy_a, op, "dy", {d.N, d.T, d.U});
  const float* dhT = optional_f32(dhT_in, dh_a, op, "dh_T", {d.N, d.U});
  auto dx = empty_f32({d.N, d.T, d.D});
  auto dh0 = empty_f32({d.N, d.U});
  auto dk = empty_f32({d.D, 3 * d.U});
  auto drk = empty_f32({d.U, 3 * d.U});
  auto db = reset_after ? empty_f32({2, 3 * d.U}) : empty_f32({3 * d.U});
  {
    py::gil_scoped_release nogil;
    float* b = fptr_mut(db);
    forgenet::gru_backward(dy, dhT, fptr(a.x), fptr(a.h0), fptr(a.kernel), fptr(a.rk), fptr(reserve), reset_after,
                           d.N, d.T, d.D, d.U, fptr_mut(dx), fptr_mut(dh0), fptr_mut(dk), fptr_mut(drk), b,
                           reset_after ? b + 3 * d.U : nullptr);
  }
  return py::make_tuple(dx, dh0, dk, drk, db);
}

}  // namespace

void bind_gru(py::module_& m) {
  m.def("gru", &gru, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("reset_after") = true, py::arg("training") = false);
  m.def("gru_backward", &gru_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"),
        py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::arg("reset_after") = true);
}

}  // namespace forgenet::bind

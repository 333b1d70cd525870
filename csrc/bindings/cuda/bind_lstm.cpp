#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/lstm.h"

namespace forgenet::bind::cuda {

namespace {

constexpr int64_t kReserveGates = 5;  // reserve row = 5U floats, as forgenet._C

struct Dims { int64_t N, T, D, U; };

// The six arrays forward and backward share, checked in forgenet._C's order with its messages: dtype and
// rank of each first, then the shapes (U comes from recurrent_kernel (U, 4U) as in Keras).
struct LstmArgs {
  DeviceArray x, h0, c0, kernel, rk, bias;
  Dims d;
  LstmArgs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
           const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in)
      : x(device_array(x_in, op, "x", 3)),
        h0(device_array(h0_in, op, "h0", 2)),
        c0(device_array(c0_in, op, "c0", 2)),
        kernel(device_array(kernel_in, op, "kernel", 2)),
        rk(device_array(rk_in, op, "recurrent_kernel", 2)),
        bias(device_array(bias_in, op, "bias", 1)) {
    const int64_t N = x.dim(0), T = x.dim(1), D = x.dim(2), U = rk.dim(0);
    if (rk.dim(1) != 4 * U)
      value_error(op, ": recurrent_kernel must have shape (units, 4*units), got ", shape_str(rk.shape));
    if (kernel.dim(0) != D || kernel.dim(1) != 4 * U)
      value_error(op, ": kernel must have shape (", D, ", ", 4 * U, ") for x ", shape_str(x.shape), " and units=", U,
                  ", got ", shape_str(kernel.shape));
    if (bias.dim(0) != 4 * U)
      value_error(op, ": bias must have shape (", 4 * U, ",) for units=", U, ", got ", shape_str(bias.shape));
    if (h0.dim(0) != N || h0.dim(1) != U)
      value_error(op, ": h0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(h0.shape));
    if (c0.dim(0) != N || c0.dim(1) != U)
      value_error(op, ": c0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(c0.shape));
    d = {N, T, D, U};
  }
};

py::tuple lstm(const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in, const py::handle& kernel_in,
               const py::handle& rk_in, const py::handle& bias_in, bool training, uintptr_t stream,
               const py::handle& alloc) {
  const char* op = "lstm";
  const LstmArgs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const Dims& d = a.d;
  require_same_device(op, {{"x", &a.x}, {"h0", &a.h0}, {"c0", &a.c0}, {"kernel", &a.kernel},
                           {"recurrent_kernel", &a.rk}, {"bias", &a.bias}});
  const DeviceArray y = allocate(alloc, {d.N, d.T, d.U}, op, "y");
  const DeviceArray hT = allocate(alloc, {d.N, d.U}, op, "h_T");
  const DeviceArray cT = allocate(alloc, {d.N, d.U}, op, "c_T");
  const DeviceArray reserve = allocate(alloc, {d.N, d.T, kReserveGates * d.U}, op, "reserve");
  const int64_t ws_n = gpu::lstm_forward_workspace_floats(d.N, d.T, d.D, d.U);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::lstm_forward(a.x.f(), a.h0.f(), a.c0.f(), a.kernel.f(), a.rk.f(), a.bias.f(), d.N, d.T, d.D, d.U,
                            y.fm(), hT.fm(), cT.fm(), reserve.fm(), ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  if (training) return py::make_tuple(y.owner, hT.owner, cT.owner, reserve.owner);
  return py::make_tuple(y.owner, hT.owner, cT.owner);
}

// An optional float32 device array of an exact shape; None gives null.
const float* optional_f32(const py::handle& obj, DeviceArray& keep, const char* op, const char* name,
                          const Shape& want) {
  if (obj.is_none()) return nullptr;
  keep = device_array(obj, op, name, static_cast<int>(want.size()));
  if (keep.shape != want) value_error(op, ": ", name, " must have shape ", shape_str(want), ", got ", shape_str(keep.shape));
  return keep.f();
}

py::tuple lstm_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& dcT_in,
                        const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
                        const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in,
                        const py::handle& reserve_in, uintptr_t stream, const py::handle& alloc) {
  const char* op = "lstm_backward";
  const LstmArgs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const Dims& d = a.d;
  const DeviceArray reserve = device_array(reserve_in, op, "reserve", 3);
  if (reserve.shape != Shape{d.N, d.T, kReserveGates * d.U})
    value_error(op, ": reserve must have shape (", d.N, ", ", d.T, ", ", kReserveGates * d.U,
                ") (batch, steps, 5*units) as returned by lstm(..., training=True), got ", shape_str(reserve.shape));
  DeviceArray dy_a, dh_a, dc_a;
  const float* dy = optional_f32(dy_in, dy_a, op, "dy", {d.N, d.T, d.U});
  const float* dhT = optional_f32(dhT_in, dh_a, op, "dh_T", {d.N, d.U});
  const float* dcT = optional_f32(dcT_in, dc_a, op, "dc_T", {d.N, d.U});
  require_same_device(op, {{"dy", dy ? &dy_a : nullptr}, {"dh_T", dhT ? &dh_a : nullptr},
                           {"dc_T", dcT ? &dc_a : nullptr}, {"x", &a.x}, {"h0", &a.h0}, {"c0", &a.c0},
                           {"kernel", &a.kernel}, {"recurrent_kernel", &a.rk}, {"bias", &a.bias},
                           {"reserve", &reserve}});
  const DeviceArray dx = allocate(alloc, {d.N, d.T, d.D}, op, "dx");
  const DeviceArray dh0 = allocate(alloc, {d.N, d.U}, op, "dh0");
  const DeviceArray dc0 = allocate(alloc, {d.N, d.U}, op, "dc0");
  const DeviceArray dk = allocate(alloc, {d.D, 4 * d.U}, op, "dkernel");
  const DeviceArray drk = allocate(alloc, {d.U, 4 * d.U}, op, "drecurrent_kernel");
  const DeviceArray db = allocate(alloc, {4 * d.U}, op, "dbias");
  const int64_t ws_n = gpu::lstm_backward_workspace_floats(d.N, d.T, d.D, d.U);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::lstm_backward(dy, dhT, dcT, a.x.f(), a.h0.f(), a.c0.f(), a.kernel.f(), a.rk.f(), reserve.f(), d.N,
                             d.T, d.D, d.U, dx.fm(), dh0.fm(), dc0.fm(), dk.fm(), drk.fm(), db.fm(), ws.fm(), ws_n,
                             as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(dx.owner, dh0.owner, dc0.owner, dk.owner, drk.owner, db.owner);
}

// Test hook: the sigmoid and tanh the kernels use (as forgenet._C._lstm_activations).
py::tuple lstm_activations(const py::handle& x_in, uintptr_t stream, const py::handle& alloc) {
  const char* op = "_lstm_activations";
  const DeviceArray x = device_array(x_in, op, "x", 1);
  require_same_device(op, {{"x", &x}});
  const DeviceArray s = allocate(alloc, x.shape, op, "sigmoid");
  const DeviceArray t = allocate(alloc, x.shape, op, "tanh");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::lstm_activations(x.f(), s.fm(), t.fm(), x.size(), as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(s.owner, t.owner);
}

}  // namespace

void bind_lstm(py::module_& m) {
  m.def("lstm", &lstm, py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("kernel"), py::arg("recurrent_kernel"),
        py::arg("bias"), py::arg("training") = false, py::kw_only(), py::arg("stream"), py::arg("alloc"),
        "LSTM over x (N,T,D) from h0, c0 (N,U), Keras gates i,f,c,o: (y, h_T, c_T[, reserve]) as forgenet._C.lstm.");
  m.def("lstm_backward", &lstm_backward, py::arg("dy"), py::arg("dh_T"), py::arg("dc_T"), py::arg("x"), py::arg("h0"),
        py::arg("c0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::kw_only(), py::arg("stream"), py::arg("alloc"),
        "(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias) as forgenet._C.lstm_backward.");
  m.def("_lstm_activations", &lstm_activations, py::arg("x"), py::kw_only(), py::arg("stream"), py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

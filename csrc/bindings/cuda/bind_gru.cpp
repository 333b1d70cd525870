// forgenet._cuda's gru / gru_backward and simple_rnn / simple_rnn_backward: forgenet._C's arguments, checks
// and messages (bindings/bind_gru.cpp, bind_simple_rnn.cpp), on device arrays.
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/rnn_args.h"
#include "cuda/gru.h"
#include "cuda/simple_rnn.h"

namespace forgenet::bind::cuda {

namespace {

constexpr int64_t kGruReserve = 5;  // reserve row = 5U floats, as forgenet._C

struct Dims { int64_t N, T, D, U; };

// x, h0, kernel, recurrent_kernel, bias in forgenet._C's order: `gates` is 3 for the GRU, 1 for SimpleRNN;
// bias_rank 2 is the GRU's (2, 3U) reset_after bias.
struct RnnArgs {
  DeviceArray x, h0, kernel, rk, bias;
  Dims d;
  RnnArgs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
          const py::handle& rk_in, const py::handle& bias_in, int64_t gates, bool reset_after)
      : x(device_array(x_in, op, "x", 3)),
        h0(device_array(h0_in, op, "h0", 2)),
        kernel(device_array(kernel_in, op, "kernel", 2)),
        rk(device_array(rk_in, op, "recurrent_kernel", 2)),
        bias(device_array(bias_in, op, "bias", gates == 3 && reset_after ? 2 : 1)) {
    const int64_t N = x.dim(0), T = x.dim(1), D = x.dim(2), U = rk.dim(0), G = gates * U;
    if (rk.dim(1) != G)
      value_error(op, ": recurrent_kernel must have shape (units, ", gates == 3 ? "3*units" : "units", "), got ",
                  shape_str(rk.shape));
    if (kernel.dim(0) != D || kernel.dim(1) != G)
      value_error(op, ": kernel must have shape (", D, ", ", G, ") for x ", shape_str(x.shape), " and units=", U,
                  ", got ", shape_str(kernel.shape));
    if (gates == 3 && reset_after && (bias.dim(0) != 2 || bias.dim(1) != G))
      value_error(op, ": bias must have shape (2, ", G, ") for units=", U, " with reset_after=True, got ",
                  shape_str(bias.shape));
    if (gates == 3 && !reset_after && bias.dim(0) != G)
      value_error(op, ": bias must have shape (", G, ",) for units=", U, " with reset_after=False, got ",
                  shape_str(bias.shape));
    if (gates == 1 && bias.dim(0) != U)
      value_error(op, ": bias must have shape (", U, ",) for units=", U, ", got ", shape_str(bias.shape));
    if (h0.dim(0) != N || h0.dim(1) != U)
      value_error(op, ": h0 must have shape (", N, ", ", U, ") (batch, units), got ", shape_str(h0.shape));
    d = {N, T, D, U};
  }
  void same_device(const char* op, std::vector<std::pair<const char*, const DeviceArray*>> more = {}) const {
    more.insert(more.end(), {{"x", &x}, {"h0", &h0}, {"kernel", &kernel}, {"recurrent_kernel", &rk}, {"bias", &bias}});
    require_same_device(op, more);
  }
};

const float* optional_f32(const py::handle& obj, DeviceArray& keep, const char* op, const char* name,
                          const Shape& want) {
  if (obj.is_none()) return nullptr;
  keep = device_array(obj, op, name, static_cast<int>(want.size()));
  if (keep.shape != want) value_error(op, ": ", name, " must have shape ", shape_str(want), ", got ", shape_str(keep.shape));
  return keep.f();
}

DeviceArray workspace(const py::handle& alloc, int64_t n, const char* op) {
  return n > 0 ? allocate(alloc, {n}, op, "workspace") : DeviceArray{};
}

py::tuple gru(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
              const py::handle& bias_in, bool reset_after, bool training, uintptr_t stream, const py::handle& alloc) {
  const char* op = "gru";
  const RnnArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in, 3, reset_after);
  const Dims& d = a.d;
  a.same_device(op);
  const DeviceArray y = allocate(alloc, {d.N, d.T, d.U}, op, "y");
  const DeviceArray hT = allocate(alloc, {d.N, d.U}, op, "h_T");
  const DeviceArray reserve = allocate(alloc, {d.N, d.T, kGruReserve * d.U}, op, "reserve");
  const int64_t ws_n = gpu::gru_forward_workspace_floats(d.N, d.T, d.D, d.U);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    const float* b = a.bias.f();
    err = gpu::gru_forward(a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), b, reset_after ? b + 3 * d.U : nullptr,
                           reset_after, d.N, d.T, d.D, d.U, y.fm(), hT.fm(), reserve.fm(), ws.fm(), ws_n,
                           as_stream(stream));
  }
  check_cuda(err, op);
  if (training) return py::make_tuple(y.owner, hT.owner, reserve.owner);
  return py::make_tuple(y.owner, hT.owner);
}

py::tuple gru_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                       const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                       const py::handle& bias_in, const py::handle& reserve_in, bool reset_after, uintptr_t stream,
                       const py::handle& alloc) {
  const char* op = "gru_backward";
  const RnnArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in, 3, reset_after);
  const Dims& d = a.d;
  const DeviceArray reserve = device_array(reserve_in, op, "reserve", 3);
  if (reserve.shape != Shape{d.N, d.T, kGruReserve * d.U})
    value_error(op, ": reserve must have shape (", d.N, ", ", d.T, ", ", kGruReserve * d.U,
                ") (batch, steps, 5*units) as returned by gru(..., training=True), got ", shape_str(reserve.shape));
  DeviceArray dy_a, dh_a;
  const float* dy = optional_f32(dy_in, dy_a, op, "dy", {d.N, d.T, d.U});
  const float* dhT = optional_f32(dhT_in, dh_a, op, "dh_T", {d.N, d.U});
  a.same_device(op, {{"dy", dy ? &dy_a : nullptr}, {"dh_T", dhT ? &dh_a : nullptr}, {"reserve", &reserve}});
  const DeviceArray dx = allocate(alloc, {d.N, d.T, d.D}, op, "dx");
  const DeviceArray dh0 = allocate(alloc, {d.N, d.U}, op, "dh0");
  const DeviceArray dk = allocate(alloc, {d.D, 3 * d.U}, op, "dkernel");
  const DeviceArray drk = allocate(alloc, {d.U, 3 * d.U}, op, "drecurrent_kernel");
  const DeviceArray db = reset_after ? allocate(alloc, {2, 3 * d.U}, op, "dbias") : allocate(alloc, {3 * d.U}, op, "dbias");
  const int64_t ws_n = gpu::gru_backward_workspace_floats(d.N, d.T, d.D, d.U, reset_after);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    float* b = db.fm();
    err = gpu::gru_backward(dy, dhT, a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), reserve.f(), reset_after, d.N, d.T,
                            d.D, d.U, dx.fm(), dh0.fm(), dk.fm(), drk.fm(), b, reset_after ? b + 3 * d.U : nullptr,
                            ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(dx.owner, dh0.owner, dk.owner, drk.owner, db.owner);
}

py::tuple simple_rnn(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
                     const py::handle& rk_in, const py::handle& bias_in, const std::string& activation, bool training,
                     uintptr_t stream, const py::handle& alloc) {
  const char* op = "simple_rnn";
  const RnnArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in, 1, false);
  const int act = static_cast<int>(rnn_activation_arg(activation, op));
  const Dims& d = a.d;
  a.same_device(op);
  const DeviceArray y = allocate(alloc, {d.N, d.T, d.U}, op, "y");
  const DeviceArray hT = allocate(alloc, {d.N, d.U}, op, "h_T");
  const DeviceArray reserve = training ? allocate(alloc, {d.N, d.T, d.U}, op, "reserve") : DeviceArray{};
  const int64_t ws_n = gpu::simple_rnn_forward_workspace_floats(d.N, d.T, d.D, d.U);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::simple_rnn_forward(a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), a.bias.f(), act, d.N, d.T, d.D, d.U,
                                  y.fm(), hT.fm(), training ? reserve.fm() : nullptr, ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  if (training) return py::make_tuple(y.owner, hT.owner, reserve.owner);
  return py::make_tuple(y.owner, hT.owner);
}

py::tuple simple_rnn_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                              const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                              const py::handle& bias_in, const py::handle& reserve_in, const std::string& activation,
                              uintptr_t stream, const py::handle& alloc) {
  const char* op = "simple_rnn_backward";
  const RnnArgs a(op, x_in, h0_in, kernel_in, rk_in, bias_in, 1, false);
  const int act = static_cast<int>(rnn_activation_arg(activation, op));
  const Dims& d = a.d;
  const DeviceArray reserve = device_array(reserve_in, op, "reserve", 3);
  if (reserve.shape != Shape{d.N, d.T, d.U})
    value_error(op, ": reserve must have shape (", d.N, ", ", d.T, ", ", d.U,
                ") (batch, steps, units) as returned by simple_rnn(..., training=True), got ", shape_str(reserve.shape));
  DeviceArray dy_a, dh_a;
  const float* dy = optional_f32(dy_in, dy_a, op, "dy", {d.N, d.T, d.U});
  const float* dhT = optional_f32(dhT_in, dh_a, op, "dh_T", {d.N, d.U});
  a.same_device(op, {{"dy", dy ? &dy_a : nullptr}, {"dh_T", dhT ? &dh_a : nullptr}, {"reserve", &reserve}});
  const DeviceArray dx = allocate(alloc, {d.N, d.T, d.D}, op, "dx");
  const DeviceArray dh0 = allocate(alloc, {d.N, d.U}, op, "dh0");
  const DeviceArray dk = allocate(alloc, {d.D, d.U}, op, "dkernel");
  const DeviceArray drk = allocate(alloc, {d.U, d.U}, op, "drecurrent_kernel");
  const DeviceArray db = allocate(alloc, {d.U}, op, "dbias");
  const int64_t ws_n = gpu::simple_rnn_backward_workspace_floats(d.N, d.T, d.D, d.U);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::simple_rnn_backward(dy, dhT, a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), reserve.f(), act, d.N, d.T, d.D,
                                   d.U, dx.fm(), dh0.fm(), dk.fm(), drk.fm(), db.fm(), ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(dx.owner, dh0.owner, dk.owner, drk.owner, db.owner);
}

}  // namespace

void bind_gru(py::module_& m) {
  m.def("gru", &gru, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("reset_after") = true, py::arg("training") = false, py::kw_only(), py::arg("stream"), py::arg("alloc"),
        "GRU over x (N,T,D) from h0 (N,U), Keras gates z,r,h: (y, h_T[, reserve]) as forgenet._C.gru.");
  m.def("gru_backward", &gru_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"), py::arg("reset_after") = true, py::kw_only(),
        py::arg("stream"), py::arg("alloc"), "(dx, dh0, dkernel, drecurrent_kernel, dbias) as forgenet._C.gru_backward.");
  m.def("simple_rnn", &simple_rnn, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"),
        py::arg("bias"), py::arg("activation") = "tanh", py::arg("training") = false, py::kw_only(), py::arg("stream"),
        py::arg("alloc"), "SimpleRNN over x (N,T,D): (y, h_T[, reserve]) as forgenet._C.simple_rnn.");
  m.def("simple_rnn_backward", &simple_rnn_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"),
        py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::arg("activation") = "tanh", py::kw_only(), py::arg("stream"), py::arg("alloc"),
        "(dx, dh0, dkernel, drecurrent_kernel, dbias) as forgenet._C.simple_rnn_backward.");
}

}  // namespace forgenet::bind::cuda

// LSTM on CUDA arrays: the contract (contracts/lstm.h) checks, this file allocates and launches. The
// reserve has the layout common/shapes.h fixes, so either device's backward can consume it.
#include "bindings/contracts/lstm.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/lstm.h"

namespace forgenet::bind::cuda {

namespace {

// The six arrays forward and backward share.
struct LstmInputs {
  DeviceArray x, h0, c0, kernel, rk, bias;
  LstmInputs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
             const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in)
      : x(device_array(x_in, op, "x")), h0(device_array(h0_in, op, "h0")), c0(device_array(c0_in, op, "c0")),
        kernel(device_array(kernel_in, op, "kernel")), rk(device_array(rk_in, op, "recurrent_kernel")),
        bias(device_array(bias_in, op, "bias")) {}
  contract::LstmArgs desc() const { return {&x.d, &h0.d, &c0.d, &kernel.d, &rk.d, &bias.d}; }
  std::vector<std::pair<const char*, const DeviceArray*>> named() const {
    return {{"x", &x}, {"h0", &h0}, {"c0", &c0}, {"kernel", &kernel}, {"recurrent_kernel", &rk}, {"bias", &bias}};
  }
};

py::tuple lstm(const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in, const py::handle& kernel_in,
               const py::handle& rk_in, const py::handle& bias_in, bool training, uintptr_t stream,
               const py::handle& alloc, const py::handle& out) {
  const char* op = "lstm";
  const LstmInputs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const LstmShape d = contract::lstm_forward(op, a.desc());
  require_same_device(op, a.named());
  const auto in = a.named();
  const size_t count = training ? 4 : 3;  // the reserve is an output only when training
  const DeviceArray y = output(alloc, {d.n, d.t, d.u}, op, "y", out, 0, count, in);
  const DeviceArray hT = output(alloc, {d.n, d.u}, op, "h_T", out, 1, count, in);
  const DeviceArray cT = output(alloc, {d.n, d.u}, op, "c_T", out, 2, count, in);
  const DeviceArray reserve = training ? output(alloc, contract::lstm_reserve_shape(d), op, "reserve", out, 3, count, in)
                                       : allocate(alloc, contract::lstm_reserve_shape(d), op, "reserve");
  const int64_t ws_n = gpu::lstm_forward_workspace_floats(d.n, d.t, d.d, d.u);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  launch(op, stream, [&] {
    return gpu::lstm_forward(a.x.f(), a.h0.f(), a.c0.f(), a.kernel.f(), a.rk.f(), a.bias.f(), d.n, d.t, d.d, d.u, y.fm(),
                             hT.fm(), cT.fm(), reserve.fm(), ws.fm(), ws_n, as_stream(stream));
  });
  if (training) return py::make_tuple(y.owner, hT.owner, cT.owner, reserve.owner);
  return py::make_tuple(y.owner, hT.owner, cT.owner);
}

py::tuple lstm_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& dcT_in,
                        const py::handle& x_in, const py::handle& h0_in, const py::handle& c0_in,
                        const py::handle& kernel_in, const py::handle& rk_in, const py::handle& bias_in,
                        const py::handle& reserve_in, uintptr_t stream, const py::handle& alloc,
                        const py::handle& out) {
  const char* op = "lstm_backward";
  const LstmInputs a(op, x_in, h0_in, c0_in, kernel_in, rk_in, bias_in);
  const DeviceArray reserve = device_array(reserve_in, op, "reserve");
  DeviceArray dy, dhT, dcT;
  if (!dy_in.is_none()) dy = device_array(dy_in, op, "dy");
  if (!dhT_in.is_none()) dhT = device_array(dhT_in, op, "dh_T");
  if (!dcT_in.is_none()) dcT = device_array(dcT_in, op, "dc_T");
  const bool has_dy = !dy_in.is_none(), has_dh = !dhT_in.is_none(), has_dc = !dcT_in.is_none();
  const LstmShape d = contract::lstm_backward(op, a.desc(), reserve.d, has_dy ? &dy.d : nullptr, has_dh ? &dhT.d : nullptr,
                                              has_dc ? &dcT.d : nullptr);
  auto named = a.named();
  named.insert(named.begin(), {{"dy", has_dy ? &dy : nullptr}, {"dh_T", has_dh ? &dhT : nullptr},
                               {"dc_T", has_dc ? &dcT : nullptr}});
  named.push_back({"reserve", &reserve});
  require_same_device(op, named);
  const DeviceArray dx = output(alloc, {d.n, d.t, d.d}, op, "dx", out, 0, 6, named);
  const DeviceArray dh0 = output(alloc, {d.n, d.u}, op, "dh0", out, 1, 6, named);
  const DeviceArray dc0 = output(alloc, {d.n, d.u}, op, "dc0", out, 2, 6, named);
  const DeviceArray dk = output(alloc, a.kernel.shape, op, "dkernel", out, 3, 6, named);
  const DeviceArray drk = output(alloc, a.rk.shape, op, "drecurrent_kernel", out, 4, 6, named);
  const DeviceArray db = output(alloc, a.bias.shape, op, "dbias", out, 5, 6, named);
  const int64_t ws_n = gpu::lstm_backward_workspace_floats(d.n, d.t, d.d, d.u);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  launch(op, stream, [&] {
    return gpu::lstm_backward(has_dy ? dy.f() : nullptr, has_dh ? dhT.f() : nullptr, has_dc ? dcT.f() : nullptr, a.x.f(),
                              a.h0.f(), a.c0.f(), a.kernel.f(), a.rk.f(), reserve.f(), d.n, d.t, d.d, d.u, dx.fm(),
                              dh0.fm(), dc0.fm(), dk.fm(), drk.fm(), db.fm(), ws.fm(), ws_n, as_stream(stream));
  });
  return py::make_tuple(dx.owner, dh0.owner, dc0.owner, dk.owner, drk.owner, db.owner);
}

// Test hook: the sigmoid and tanh the kernels use (as forgenet._C._lstm_activations).
py::tuple lstm_activations(const py::handle& x_in, uintptr_t stream, const py::handle& alloc) {
  const char* op = "_lstm_activations";
  const DeviceArray x = device_array(x_in, op, "x", 1);
  require_same_device(op, {{"x", &x}});
  const DeviceArray s = allocate(alloc, x.shape, op, "sigmoid");
  const DeviceArray t = allocate(alloc, x.shape, op, "tanh");
  launch(op, stream, [&] { return gpu::lstm_activations(x.f(), s.fm(), t.fm(), x.size(), as_stream(stream)); });
  return py::make_tuple(s.owner, t.owner);
}

}  // namespace

void bind_lstm(py::module_& m) {
  m.def("lstm", &lstm, py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("kernel"), py::arg("recurrent_kernel"),
        py::arg("bias"), py::arg("training") = false, py::kw_only(), py::arg("stream"), py::arg("alloc"),
        py::arg("out") = py::none(), "LSTM over x (N,T,D) from h0, c0 (N,U), Keras gates i,f,c,o: (y, h_T, c_T[, reserve]) as forgenet._C.lstm.");
  m.def("lstm_backward", &lstm_backward, py::arg("dy"), py::arg("dh_T"), py::arg("dc_T"), py::arg("x"), py::arg("h0"),
        py::arg("c0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none(),
        "(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias) as forgenet._C.lstm_backward.");
  m.def("_lstm_activations", &lstm_activations, py::arg("x"), py::kw_only(), py::arg("stream"), py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

// GRU and SimpleRNN on CUDA arrays: the contracts (contracts/gru.h, contracts/simple_rnn.h) check, this file
// allocates and launches. The reserves have the layouts common/shapes.h fixes, so either device's backward
// can consume them.
#include "bindings/contracts/gru.h"
#include "bindings/contracts/simple_rnn.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/rnn_args.h"
#include "cuda/gru.h"
#include "cuda/simple_rnn.h"

namespace forgenet::bind::cuda {

namespace {

using Named = std::vector<std::pair<const char*, const DeviceArray*>>;

// x, h0, kernel, recurrent_kernel, bias: the five arrays both families' forward and backward take.
struct RnnInputs {
  DeviceArray x, h0, kernel, rk, bias;
  RnnInputs(const char* op, const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
            const py::handle& rk_in, const py::handle& bias_in)
      : x(device_array(x_in, op, "x")), h0(device_array(h0_in, op, "h0")), kernel(device_array(kernel_in, op, "kernel")),
        rk(device_array(rk_in, op, "recurrent_kernel")), bias(device_array(bias_in, op, "bias")) {}
  contract::GruArgs gru() const { return {&x.d, &h0.d, &kernel.d, &rk.d, &bias.d}; }
  contract::SimpleRnnArgs rnn() const { return {&x.d, &h0.d, &kernel.d, &rk.d, &bias.d}; }
  Named named() const { return {{"x", &x}, {"h0", &h0}, {"kernel", &kernel}, {"recurrent_kernel", &rk}, {"bias", &bias}}; }
};

// An output gradient the caller may leave as None.
struct OptDevice {
  bool given;
  DeviceArray a;
  OptDevice(const py::handle& obj, const char* op, const char* name) : given(!obj.is_none()) {
    if (given) a = device_array(obj, op, name);
  }
  const ArrayDesc* d() const { return given ? &a.d : nullptr; }
  const DeviceArray* p() const { return given ? &a : nullptr; }
  const float* f() const { return given ? a.f() : nullptr; }
};

DeviceArray workspace(const py::handle& alloc, int64_t n, const char* op) {
  return n > 0 ? allocate(alloc, {n}, op, "workspace") : DeviceArray{};
}

// The backward's five gradients: dx, dh0 and the weights' shapes.
struct Grads {
  DeviceArray dx, dh0, dk, drk, db;
  Grads(const py::handle& alloc, const char* op, const RnnShape& d, const RnnInputs& a, const py::handle& out,
        const Named& in)
      : dx(output(alloc, {d.n, d.t, d.d}, op, "dx", out, 0, 5, in)), dh0(output(alloc, {d.n, d.u}, op, "dh0", out, 1, 5, in)),
        dk(output(alloc, a.kernel.shape, op, "dkernel", out, 2, 5, in)),
        drk(output(alloc, a.rk.shape, op, "drecurrent_kernel", out, 3, 5, in)),
        db(output(alloc, a.bias.shape, op, "dbias", out, 4, 5, in)) {}
  py::tuple tuple() const { return py::make_tuple(dx.owner, dh0.owner, dk.owner, drk.owner, db.owner); }
};

py::tuple gru(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
              const py::handle& bias_in, bool reset_after, bool training, uintptr_t stream, const py::handle& alloc,
              const py::handle& out) {
  const char* op = "gru";
  const RnnInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const RnnShape d = contract::gru_forward(op, a.gru(), reset_after);
  const Named in = a.named();
  require_same_device(op, in);
  const size_t count = training ? 3 : 2;  // the reserve is an output only when training
  const DeviceArray y = output(alloc, {d.n, d.t, d.u}, op, "y", out, 0, count, in);
  const DeviceArray hT = output(alloc, {d.n, d.u}, op, "h_T", out, 1, count, in);
  const auto rs = contract::reserve_shape(contract::kGruCell, d);
  const DeviceArray reserve = training ? output(alloc, rs, op, "reserve", out, 2, count, in) : allocate(alloc, rs, op, "reserve");
  const int64_t ws_n = gpu::gru_forward_workspace_floats(d.n, d.t, d.d, d.u);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  launch(op, stream, [&] {
    const float* b = a.bias.f();
    return gpu::gru_forward(a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), b, reset_after ? b + kGruGates * d.u : nullptr,
                            reset_after, d.n, d.t, d.d, d.u, y.fm(), hT.fm(), reserve.fm(), ws.fm(), ws_n,
                            as_stream(stream));
  });
  if (training) return py::make_tuple(y.owner, hT.owner, reserve.owner);
  return py::make_tuple(y.owner, hT.owner);
}

py::tuple gru_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                       const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                       const py::handle& bias_in, const py::handle& reserve_in, bool reset_after, uintptr_t stream,
                       const py::handle& alloc, const py::handle& out) {
  const char* op = "gru_backward";
  const RnnInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const DeviceArray reserve = device_array(reserve_in, op, "reserve");
  const OptDevice dy(dy_in, op, "dy"), dhT(dhT_in, op, "dh_T");
  const RnnShape d = contract::gru_backward(op, a.gru(), reset_after, reserve.d, dy.d(), dhT.d());
  Named in = a.named();
  in.insert(in.end(), {{"dy", dy.p()}, {"dh_T", dhT.p()}, {"reserve", &reserve}});
  require_same_device(op, in);
  const Grads g(alloc, op, d, a, out, in);
  const int64_t ws_n = gpu::gru_backward_workspace_floats(d.n, d.t, d.d, d.u, reset_after);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  launch(op, stream, [&] {
    float* b = g.db.fm();
    return gpu::gru_backward(dy.f(), dhT.f(), a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), reserve.f(), reset_after, d.n,
                             d.t, d.d, d.u, g.dx.fm(), g.dh0.fm(), g.dk.fm(), g.drk.fm(), b,
                             reset_after ? b + kGruGates * d.u : nullptr, ws.fm(), ws_n, as_stream(stream));
  });
  return g.tuple();
}

py::tuple simple_rnn(const py::handle& x_in, const py::handle& h0_in, const py::handle& kernel_in,
                     const py::handle& rk_in, const py::handle& bias_in, const py::handle& activation, bool training,
                     uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "simple_rnn";
  const RnnInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const RnnShape d = contract::simple_rnn_forward(op, a.rnn());
  const int act = static_cast<int>(rnn_activation_arg(activation, op));
  const Named in = a.named();
  require_same_device(op, in);
  const size_t count = training ? 3 : 2;
  const DeviceArray y = output(alloc, {d.n, d.t, d.u}, op, "y", out, 0, count, in);
  const DeviceArray hT = output(alloc, {d.n, d.u}, op, "h_T", out, 1, count, in);
  const DeviceArray reserve =
      training ? output(alloc, contract::simple_rnn_reserve_shape(d), op, "reserve", out, 2, count, in) : DeviceArray{};
  const int64_t ws_n = gpu::simple_rnn_forward_workspace_floats(d.n, d.t, d.d, d.u);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  launch(op, stream, [&] {
    return gpu::simple_rnn_forward(a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), a.bias.f(), act, d.n, d.t, d.d, d.u,
                                   y.fm(), hT.fm(), training ? reserve.fm() : nullptr, ws.fm(), ws_n, as_stream(stream));
  });
  if (training) return py::make_tuple(y.owner, hT.owner, reserve.owner);
  return py::make_tuple(y.owner, hT.owner);
}

py::tuple simple_rnn_backward(const py::handle& dy_in, const py::handle& dhT_in, const py::handle& x_in,
                              const py::handle& h0_in, const py::handle& kernel_in, const py::handle& rk_in,
                              const py::handle& bias_in, const py::handle& reserve_in, const py::handle& activation,
                              uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "simple_rnn_backward";
  const RnnInputs a(op, x_in, h0_in, kernel_in, rk_in, bias_in);
  const DeviceArray reserve = device_array(reserve_in, op, "reserve");
  const OptDevice dy(dy_in, op, "dy"), dhT(dhT_in, op, "dh_T");
  const RnnShape d = contract::simple_rnn_backward(op, a.rnn(), reserve.d, dy.d(), dhT.d());
  const int act = static_cast<int>(rnn_activation_arg(activation, op));
  Named in = a.named();
  in.insert(in.end(), {{"dy", dy.p()}, {"dh_T", dhT.p()}, {"reserve", &reserve}});
  require_same_device(op, in);
  const Grads g(alloc, op, d, a, out, in);
  const int64_t ws_n = gpu::simple_rnn_backward_workspace_floats(d.n, d.t, d.d, d.u);
  const DeviceArray ws = workspace(alloc, ws_n, op);
  launch(op, stream, [&] {
    return gpu::simple_rnn_backward(dy.f(), dhT.f(), a.x.f(), a.h0.f(), a.kernel.f(), a.rk.f(), reserve.f(), act, d.n,
                                    d.t, d.d, d.u, g.dx.fm(), g.dh0.fm(), g.dk.fm(), g.drk.fm(), g.db.fm(), ws.fm(), ws_n,
                                    as_stream(stream));
  });
  return g.tuple();
}

}  // namespace

void bind_gru(py::module_& m) {
  m.def("gru", &gru, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("reset_after") = true, py::arg("training") = false, py::kw_only(), py::arg("stream"), py::arg("alloc"),
        py::arg("out") = py::none(),
        "GRU over x (N,T,D) from h0 (N,U), Keras gates z,r,h: (y, h_T[, reserve]) as forgenet._C.gru.");
  m.def("gru_backward", &gru_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"), py::arg("reset_after") = true, py::kw_only(),
        py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none(),
        "(dx, dh0, dkernel, drecurrent_kernel, dbias) as forgenet._C.gru_backward.");
  m.def("simple_rnn", &simple_rnn, py::arg("x"), py::arg("h0"), py::arg("kernel"), py::arg("recurrent_kernel"),
        py::arg("bias"), py::arg("activation") = "tanh", py::arg("training") = false, py::kw_only(), py::arg("stream"),
        py::arg("alloc"), py::arg("out") = py::none(),
        "SimpleRNN over x (N,T,D): (y, h_T[, reserve]) as forgenet._C.simple_rnn.");
  m.def("simple_rnn_backward", &simple_rnn_backward, py::arg("dy"), py::arg("dh_T"), py::arg("x"), py::arg("h0"),
        py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("reserve"),
        py::arg("activation") = "tanh", py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none(),
        "(dx, dh0, dkernel, drecurrent_kernel, dbias) as forgenet._C.simple_rnn_backward.");
}

}  // namespace forgenet::bind::cuda

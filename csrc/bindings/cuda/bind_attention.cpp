// attention on CUDA arrays: the contract (contracts/attention.h) checks, this file allocates and launches.
#include "bindings/contracts/attention.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/scale_arg.h"
#include "cuda/attention.h"

namespace forgenet::bind::cuda {

namespace {

// Returns (o (B,H,Nq,dv), lse (B,H,Nq)).
py::tuple attention(const py::handle& q_in, const py::handle& k_in, const py::handle& v_in, bool causal,
                    const py::object& scale, uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const char* op = "attention";
  const DeviceArray q = device_array(q_in, op, "q"), k = device_array(k_in, op, "k"), v = device_array(v_in, op, "v");
  const ScaleArg sc = scale_arg(scale, op);
  const AttnShape s = contract::attention_forward(op, q.d, k.d, v.d, causal, sc.given, sc.value);
  require_same_device(op, {{"q", &q}, {"k", &k}, {"v", &v}});
  const std::vector<std::pair<const char*, const DeviceArray*>> in{{"q", &q}, {"k", &k}, {"v", &v}};
  const DeviceArray o = output(alloc, contract::attention_o_shape(q.d, s), op, "o", out, 0, 2, in);
  const DeviceArray lse = output(alloc, contract::attention_lse_shape(q.d, s), op, "lse", out, 1, 2, in);
  launch(op, stream, [&] { return gpu::attention_forward(s, q.f(), k.f(), v.f(), o.fm(), lse.fm(), as_stream(stream)); });
  return py::make_tuple(o.owner, lse.owner);
}

// Returns (dq, dk, dv).
py::tuple attention_backward(const py::handle& do_in, const py::handle& q_in, const py::handle& k_in,
                             const py::handle& v_in, const py::handle& o_in, const py::handle& lse_in, bool causal,
                             const py::object& scale, uintptr_t stream, const py::handle& alloc,
                             const py::handle& out) {
  const char* op = "attention_backward";
  const DeviceArray q = device_array(q_in, op, "q"), k = device_array(k_in, op, "k"), v = device_array(v_in, op, "v");
  const DeviceArray dout = device_array(do_in, op, "do"), o = device_array(o_in, op, "o"),
                    lse = device_array(lse_in, op, "lse");
  const ScaleArg sc = scale_arg(scale, op);
  const AttnShape s = contract::attention_backward(op, dout.d, q.d, k.d, v.d, o.d, lse.d, causal, sc.given, sc.value);
  require_same_device(op, {{"do", &dout}, {"q", &q}, {"k", &k}, {"v", &v}, {"o", &o}, {"lse", &lse}});
  const std::vector<std::pair<const char*, const DeviceArray*>> in{
      {"do", &dout}, {"q", &q}, {"k", &k}, {"v", &v}, {"o", &o}, {"lse", &lse}};
  const DeviceArray dq = output(alloc, q.shape, op, "dq", out, 0, 3, in), dk = output(alloc, k.shape, op, "dk", out, 1, 3, in),
                    dv = output(alloc, v.shape, op, "dv", out, 2, 3, in);
  const int64_t ws_n = gpu::attention_backward_workspace_floats(s);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  launch(op, stream, [&] {
    return gpu::attention_backward(s, dout.f(), q.f(), k.f(), v.f(), o.f(), lse.f(), dq.fm(), dk.fm(), dv.fm(), ws.fm(),
                                   ws_n, as_stream(stream));
  });
  return py::make_tuple(dq.owner, dk.owner, dv.owner);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false,
        py::arg("scale") = py::none(), py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
  m.def("attention_backward", &attention_backward, py::arg("do"), py::arg("q"), py::arg("k"), py::arg("v"),
        py::arg("o"), py::arg("lse"), py::arg("causal") = false, py::arg("scale") = py::none(), py::kw_only(),
        py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
}

}  // namespace forgenet::bind::cuda

#include <cmath>

#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/attention.h"

namespace forgenet::bind::cuda {

namespace {

std::string sh4(int64_t a, int64_t b, int64_t c, int64_t d) { return cat("(", a, ", ", b, ", ", c, ", ", d, ")"); }

// Checks q (B,H,Nq,d), k (B,H,Nk,d), v (B,H,Nk,dv) against each other and fills the shape (as forgenet._C).
gpu::AttnShape attn_shape(const char* op, const DeviceArray& q, const DeviceArray& k, const DeviceArray& v,
                          bool causal, const py::object& scale) {
  if (q.dim(0) != k.dim(0) || q.dim(1) != k.dim(1) || q.dim(0) != v.dim(0) || q.dim(1) != v.dim(1))
    value_error(op, ": q, k and v must share batch and head sizes (axes 0, 1), got q ", shape_str(q.shape), ", k ",
                shape_str(k.shape), ", v ", shape_str(v.shape));
  if (k.dim(2) != v.dim(2))
    value_error(op, ": k and v must have the same length (axis 2), got k ", shape_str(k.shape), " and v ",
                shape_str(v.shape));
  if (q.dim(3) != k.dim(3))
    value_error(op, ": q and k must have the same head dim (axis 3), got q ", shape_str(q.shape), " and k ",
                shape_str(k.shape));
  if (q.dim(3) < 1) value_error(op, ": the head dim of q and k must be >= 1, got q ", shape_str(q.shape));
  gpu::AttnShape s;
  s.bh = q.dim(0) * q.dim(1);
  s.nq = q.dim(2);
  s.nk = k.dim(2);
  s.d = q.dim(3);
  s.dv = v.dim(3);
  s.causal = causal;
  if (scale.is_none()) {
    s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.d)));
  } else {
    if (!py::isinstance<py::float_>(scale) && !py::isinstance<py::int_>(scale))
      type_error(op, ": scale must be a number or None, got ",
                 std::string(py::str(scale.attr("__class__").attr("__name__"))));
    s.scale = scale.cast<float>();
  }
  return s;
}

// Returns (o (B,H,Nq,dv), lse (B,H,Nq)).
py::tuple attention(const py::handle& q_in, const py::handle& k_in, const py::handle& v_in, bool causal,
                    const py::object& scale, uintptr_t stream, const py::handle& alloc) {
  const char* op = "attention";
  const DeviceArray q = device_array(q_in, op, "q", 4), k = device_array(k_in, op, "k", 4),
                    v = device_array(v_in, op, "v", 4);
  const gpu::AttnShape s = attn_shape(op, q, k, v, causal, scale);
  require_same_device(op, {{"q", &q}, {"k", &k}, {"v", &v}});
  const DeviceArray o = allocate(alloc, {q.dim(0), q.dim(1), s.nq, s.dv}, op, "o");
  const DeviceArray lse = allocate(alloc, {q.dim(0), q.dim(1), s.nq}, op, "lse");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::attention_forward(s, q.f(), k.f(), v.f(), o.fm(), lse.fm(), as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(o.owner, lse.owner);
}

// Returns (dq, dk, dv).
py::tuple attention_backward(const py::handle& do_in, const py::handle& q_in, const py::handle& k_in,
                             const py::handle& v_in, const py::handle& o_in, const py::handle& lse_in, bool causal,
                             const py::object& scale, uintptr_t stream, const py::handle& alloc) {
  const char* op = "attention_backward";
  const DeviceArray q = device_array(q_in, op, "q", 4), k = device_array(k_in, op, "k", 4),
                    v = device_array(v_in, op, "v", 4);
  const gpu::AttnShape s = attn_shape(op, q, k, v, causal, scale);
  const DeviceArray dout = device_array(do_in, op, "do", 4), o = device_array(o_in, op, "o", 4),
                    lse = device_array(lse_in, op, "lse", 3);
  const int64_t B = q.dim(0), H = q.dim(1);
  const Shape oshape{B, H, s.nq, s.dv};
  if (o.shape != oshape) value_error(op, ": o must have shape ", sh4(B, H, s.nq, s.dv), ", got ", shape_str(o.shape));
  if (dout.shape != oshape)
    value_error(op, ": do must have shape ", sh4(B, H, s.nq, s.dv), ", got ", shape_str(dout.shape));
  if (lse.shape != Shape{B, H, s.nq})
    value_error(op, ": lse must have shape (", B, ", ", H, ", ", s.nq, "), got ", shape_str(lse.shape));
  require_same_device(op, {{"do", &dout}, {"q", &q}, {"k", &k}, {"v", &v}, {"o", &o}, {"lse", &lse}});
  const DeviceArray dq = allocate(alloc, q.shape, op, "dq"), dk = allocate(alloc, k.shape, op, "dk"),
                    dv = allocate(alloc, v.shape, op, "dv");
  const int64_t ws_n = gpu::attention_backward_workspace_floats(s);
  const DeviceArray ws = ws_n > 0 ? allocate(alloc, {ws_n}, op, "workspace") : DeviceArray{};
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = gpu::attention_backward(s, dout.f(), q.f(), k.f(), v.f(), o.f(), lse.f(), dq.fm(), dk.fm(), dv.fm(),
                                  ws.fm(), ws_n, as_stream(stream));
  }
  check_cuda(err, op);
  return py::make_tuple(dq.owner, dk.owner, dv.owner);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false,
        py::arg("scale") = py::none(), py::kw_only(), py::arg("stream"), py::arg("alloc"));
  m.def("attention_backward", &attention_backward, py::arg("do"), py::arg("q"), py::arg("k"), py::arg("v"),
        py::arg("o"), py::arg("lse"), py::arg("causal") = false, py::arg("scale") = py::none(), py::kw_only(),
        py::arg("stream"), py::arg("alloc"));
}

}  // namespace forgenet::bind::cuda

#include <cmath>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/attention.h"

namespace forgenet::bind {

namespace {

std::string sh4(int64_t a, int64_t b, int64_t c, int64_t d) { return cat("(", a, ", ", b, ", ", c, ", ", d, ")"); }

// Checks q (B,H,Nq,d), k (B,H,Nk,d), v (B,H,Nk,dv) against each other and fills the shape.
AttnShape attn_shape(const char* op, const py::array& q, const py::array& k, const py::array& v,
                     bool causal, const py::object& scale) {
  if (q.shape(0) != k.shape(0) || q.shape(1) != k.shape(1) || q.shape(0) != v.shape(0) || q.shape(1) != v.shape(1))
    value_error(op, ": q, k and v must share batch and head sizes (axes 0, 1), got q ", shape_str(q), ", k ",
                shape_str(k), ", v ", shape_str(v));
  if (k.shape(2) != v.shape(2))
    value_error(op, ": k and v must have the same length (axis 2), got k ", shape_str(k), " and v ", shape_str(v));
  if (q.shape(3) != k.shape(3))
    value_error(op, ": q and k must have the same head dim (axis 3), got q ", shape_str(q), " and k ", shape_str(k));
  if (q.shape(3) < 1) value_error(op, ": the head dim of q and k must be >= 1, got q ", shape_str(q));
  AttnShape s;
  s.bh = q.shape(0) * q.shape(1);
  s.nq = q.shape(2);
  s.nk = k.shape(2);
  s.d = q.shape(3);
  s.dv = v.shape(3);
  s.causal = causal;
  if (scale.is_none()) {
    s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.d)));
  } else {
    if (!py::isinstance<py::float_>(scale) && !py::isinstance<py::int_>(scale))
      type_error(op, ": scale must be a number or None, got ", std::string(py::str(scale.attr("__class__").attr("__name__"))));
    s.scale = scale.cast<float>();
  }
  return s;
}

// Returns (o (B,H,Nq,dv), lse (B,H,Nq)).
py::tuple attention(const py::handle& q_in, const py::handle& k_in, const py::handle& v_in, bool causal,
                    const py::object& scale) {
  const char* op = "attention";
  auto q = checked(q_in, op, "q", 4), k = checked(k_in, op, "k", 4), v = checked(v_in, op, "v", 4);
  const AttnShape s = attn_shape(op, q, k, v, causal, scale);
  auto o = empty_f32({q.shape(0), q.shape(1), s.nq, s.dv});
  auto lse = empty_f32({q.shape(0), q.shape(1), s.nq});
  {
    py::gil_scoped_release nogil;
    forgenet::attention_forward(s, fptr(q), fptr(k), fptr(v), fptr_mut(o), fptr_mut(lse));
  }
  return py::make_tuple(o, lse);
}

// Returns (dq, dk, dv).
py::tuple attention_backward(const py::handle& do_in, const py::handle& q_in, const py::handle& k_in,
                             const py::handle& v_in, const py::handle& o_in, const py::handle& lse_in,
                             bool causal, const py::object& scale) {
  const char* op = "attention_backward";
  auto q = checked(q_in, op, "q", 4), k = checked(k_in, op, "k", 4), v = checked(v_in, op, "v", 4);
  const AttnShape s = attn_shape(op, q, k, v, causal, scale);
  auto dout = checked(do_in, op, "do", 4), o = checked(o_in, op, "o", 4), lse = checked(lse_in, op, "lse", 3);
  const int64_t B = q.shape(0), H = q.shape(1);
  const auto oshape = std::vector<py::ssize_t>{B, H, s.nq, s.dv};
  if (dims(o) != oshape) value_error(op, ": o must have shape ", sh4(B, H, s.nq, s.dv), ", got ", shape_str(o));
  if (dims(dout) != oshape) value_error(op, ": do must have shape ", sh4(B, H, s.nq, s.dv), ", got ", shape_str(dout));
  if (dims(lse) != std::vector<py::ssize_t>{B, H, s.nq})
    value_error(op, ": lse must have shape (", B, ", ", H, ", ", s.nq, "), got ", shape_str(lse));
  auto dq = empty_f32(dims(q)), dk = empty_f32(dims(k)), dv = empty_f32(dims(v));
  {
    py::gil_scoped_release nogil;
    forgenet::attention_backward(s, fptr(dout), fptr(q), fptr(k), fptr(v), fptr(o), fptr(lse), fptr_mut(dq), fptr_mut(dk),
                       fptr_mut(dv));
  }
  return py::make_tuple(dq, dk, dv);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false,
        py::arg("scale") = py::none());
  m.def("attention_backward", &attention_backward, py::arg("do"), py::arg("q"), py::arg("k"), py::arg("v"),
        py::arg("o"), py::arg("lse"), py::arg("causal") = false, py::arg("scale") = py::none());
}

}  // namespace forgenet::bind

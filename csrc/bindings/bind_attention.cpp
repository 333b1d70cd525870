// attention on numpy arrays: the contract (contracts/attention.h) checks, this file allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/contracts/attention.h"
#include "bindings/scale_arg.h"
#include "cpu/attention.h"

namespace forgenet::bind {

namespace {

// Returns (o (B,H,Nq,dv), lse (B,H,Nq)).
py::tuple attention(const py::handle& q_in, const py::handle& k_in, const py::handle& v_in, bool causal,
                    const py::object& scale, const py::handle& out) {
  const char* op = "attention";
  const Arg q(q_in, op, "q"), k(k_in, op, "k"), v(v_in, op, "v");
  const ScaleArg sc = scale_arg(scale, op);
  const AttnShape s = contract::attention_forward(op, q.d, k.d, v.d, causal, sc.given, sc.value);
  const Inputs in{{"q", &q.d}, {"k", &k.d}, {"v", &v.d}};
  auto o = output(op, "o", contract::attention_o_shape(q.d, s), out, 0, 2, in);
  auto lse = output(op, "lse", contract::attention_lse_shape(q.d, s), out, 1, 2, in);
  run(op, [&] { forgenet::attention_forward(s, q.f(), k.f(), v.f(), fptr_mut(o), fptr_mut(lse)); });
  return py::make_tuple(o, lse);
}

// Returns (dq, dk, dv).
py::tuple attention_backward(const py::handle& do_in, const py::handle& q_in, const py::handle& k_in,
                             const py::handle& v_in, const py::handle& o_in, const py::handle& lse_in,
                             bool causal, const py::object& scale, const py::handle& out) {
  const char* op = "attention_backward";
  const Arg q(q_in, op, "q"), k(k_in, op, "k"), v(v_in, op, "v");
  const Arg dout(do_in, op, "do"), o(o_in, op, "o"), lse(lse_in, op, "lse");
  const ScaleArg sc = scale_arg(scale, op);
  const AttnShape s = contract::attention_backward(op, dout.d, q.d, k.d, v.d, o.d, lse.d, causal, sc.given, sc.value);
  const Inputs in{{"do", &dout.d}, {"q", &q.d}, {"k", &k.d}, {"v", &v.d}, {"o", &o.d}, {"lse", &lse.d}};
  auto dq = output(op, "dq", q.d.shape, out, 0, 3, in), dk = output(op, "dk", k.d.shape, out, 1, 3, in),
       dv = output(op, "dv", v.d.shape, out, 2, 3, in);
  run(op, [&] {
    forgenet::attention_backward(s, dout.f(), q.f(), k.f(), v.f(), o.f(), lse.f(), fptr_mut(dq), fptr_mut(dk),
                                 fptr_mut(dv));
  });
  return py::make_tuple(dq, dk, dv);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false,
        py::arg("scale") = py::none(), py::kw_only(), py::arg("out") = py::none());
  m.def("attention_backward", &attention_backward, py::arg("do"), py::arg("q"), py::arg("k"), py::arg("v"),
        py::arg("o"), py::arg("lse"), py::arg("causal") = false, py::arg("scale") = py::none(), py::kw_only(),
        py::arg("out") = py::none());
}

}  // namespace forgenet::bind

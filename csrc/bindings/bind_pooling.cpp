// Pooling on numpy arrays: the contract (contracts/window.h) checks, this file allocates and calls.
#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/window_args.h"
#include "cpu/pooling.h"

namespace forgenet::bind {

namespace {

using Forward = void (*)(const Window2d&, const float*, float*);

py::array_t<float> pool_forward(const char* op, Forward kernel, const py::handle& x_in, const py::handle& pool,
                                const py::handle& strides, const py::handle& padding, const py::handle& out) {
  const Arg x(x_in, op, "x");
  const Window2d g = contract::pool_forward(op, x.d, pool_args(pool, strides, padding, op));
  auto y = output(op, "y", contract::out_shape(g, g.c), out, 0, 1, {{"x", &x.d}});
  run(op, [&] { kernel(g, x.f(), fptr_mut(y)); });
  return y;
}

py::array_t<float> pool_backward(const char* op, bool is_max, const py::handle& dy_in, const py::handle& x_in,
                                 const py::handle& pool, const py::handle& strides, const py::handle& padding,
                                 const py::handle& out) {
  const Arg dy(dy_in, op, "dy"), x(x_in, op, "x");
  const Window2d g = contract::pool_backward(op, dy.d, x.d, pool_args(pool, strides, padding, op));
  auto dx = output(op, "dx", x.d.shape, out, 0, 1, {{"dy", &dy.d}, {"x", &x.d}});
  run(op, [&] {
    if (is_max)
      max_pool2d_backward(g, dy.f(), x.f(), fptr_mut(dx));
    else
      avg_pool2d_backward(g, dy.f(), fptr_mut(dx));
  });
  return dx;
}

}  // namespace

void bind_pooling(py::module_& m) {
  auto pool = py::arg("pool_size") = py::make_tuple(2, 2);
  auto strides = py::arg("strides") = py::none();
  auto padding = py::arg("padding") = "valid";
  auto out = py::arg("out") = py::none();
  using H = const py::handle&;
  m.def("max_pool2d", [](H x, H p, H s, H pad, H o) { return pool_forward("max_pool2d", &max_pool2d_forward, x, p, s, pad, o); },
        py::arg("x"), pool, strides, padding, py::kw_only(), out);
  m.def("avg_pool2d", [](H x, H p, H s, H pad, H o) { return pool_forward("avg_pool2d", &avg_pool2d_forward, x, p, s, pad, o); },
        py::arg("x"), pool, strides, padding, py::kw_only(), out);
  m.def("max_pool2d_backward", [](H dy, H x, H p, H s, H pad, H o) {
    return pool_backward("max_pool2d_backward", true, dy, x, p, s, pad, o);
  }, py::arg("dy"), py::arg("x"), pool, strides, padding, py::kw_only(), out);
  m.def("avg_pool2d_backward", [](H dy, H x, H p, H s, H pad, H o) {
    return pool_backward("avg_pool2d_backward", false, dy, x, p, s, pad, o);
  }, py::arg("dy"), py::arg("x"), pool, strides, padding, py::kw_only(), out);
}

}  // namespace forgenet::bind

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/window_args.h"
#include "cpu/pooling.h"

namespace forgenet::bind {

namespace {

// strides=None means strides = pool_size (Keras).
Window2d pool_geometry(const char* op, const py::array& x, const py::handle& pool_in, const py::handle& strides_in,
                       const py::handle& padding_in) {
  const Pair p = pair_arg(pool_in, op, "pool_size");
  const Pair s = strides_in.is_none() ? p : pair_arg(strides_in, op, "strides");
  const bool same = padding_arg(padding_in, op);
  const int64_t h = x.shape(1), w = x.shape(2);
  if (!same && (p.first > h || p.second > w))
    value_error(op, ": pool_size (", p.first, ", ", p.second, ") larger than input (", h, ", ", w,
                ") with padding='valid'");
  if (p.first * w >= (int64_t(1) << 31))  // the max-pool kernels keep in-window offsets as int32
    value_error(op, ": pool_size[0] * width must be below 2**31, got ", p.first, " * ", w);
  return make_window2d(x.shape(0), h, w, x.shape(3), p.first, p.second, s.first, s.second, same);
}

using Forward = void (*)(const Window2d&, const float*, float*);

py::array_t<float> pool_forward(const char* op, Forward kernel, const py::handle& x_in, const py::handle& pool,
                                const py::handle& strides, const py::handle& padding) {
  auto x = checked(x_in, op, "x", 4);
  const Window2d g = pool_geometry(op, x, pool, strides, padding);
  auto y = empty_f32({g.n, g.ho, g.wo, g.c});
  {
    py::gil_scoped_release nogil;
    kernel(g, fptr(x), fptr_mut(y));
  }
  return y;
}

py::array_t<float> pool_backward(const char* op, bool is_max, const py::handle& dy_in, const py::handle& x_in,
                                 const py::handle& pool, const py::handle& strides, const py::handle& padding) {
  auto dy = checked(dy_in, op, "dy", 4);
  auto x = checked(x_in, op, "x", 4);
  const Window2d g = pool_geometry(op, x, pool, strides, padding);
  if (dy.shape(0) != g.n || dy.shape(1) != g.ho || dy.shape(2) != g.wo || dy.shape(3) != g.c)
    value_error(op, ": dy must have the forward output's shape (", g.n, ", ", g.ho, ", ", g.wo, ", ", g.c,
                "), got ", shape_str(dy));
  auto dx = empty_f32(dims(x));
  {
    py::gil_scoped_release nogil;
    if (is_max)
      max_pool2d_backward(g, fptr(dy), fptr(x), fptr_mut(dx));
    else
      avg_pool2d_backward(g, fptr(dy), fptr_mut(dx));
  }
  return dx;
}

}  // namespace

void bind_pooling(py::module_& m) {
  auto pool = py::arg("pool_size") = py::make_tuple(2, 2);
  auto strides = py::arg("strides") = py::none();
  auto padding = py::arg("padding") = "valid";
  m.def("max_pool2d", [](const py::handle& x, const py::handle& p, const py::handle& s, const py::handle& pad) {
    return pool_forward("max_pool2d", &max_pool2d_forward, x, p, s, pad);
  }, py::arg("x"), pool, strides, padding);
  m.def("avg_pool2d", [](const py::handle& x, const py::handle& p, const py::handle& s, const py::handle& pad) {
    return pool_forward("avg_pool2d", &avg_pool2d_forward, x, p, s, pad);
  }, py::arg("x"), pool, strides, padding);
  m.def("max_pool2d_backward", [](const py::handle& dy, const py::handle& x, const py::handle& p,
                                  const py::handle& s, const py::handle& pad) {
    return pool_backward("max_pool2d_backward", true, dy, x, p, s, pad);
  }, py::arg("dy"), py::arg("x"), pool, strides, padding);
  m.def("avg_pool2d_backward", [](const py::handle& dy, const py::handle& x, const py::handle& p,
                                  const py::handle& s, const py::handle& pad) {
    return pool_backward("avg_pool2d_backward", false, dy, x, p, s, pad);
  }, py::arg("dy"), py::arg("x"), pool, strides, padding);
}

}  // namespace forgenet::bind

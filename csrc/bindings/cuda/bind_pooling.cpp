// Pooling on CUDA arrays: the contract (contracts/window.h) checks, this file allocates and launches.
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/window_args.h"
#include "cuda/pooling.h"

namespace forgenet::bind::cuda {

namespace {

py::object pool_forward(const char* op, bool is_max, const py::handle& x_in, const py::handle& pool,
                        const py::handle& strides, const py::handle& padding, uintptr_t stream,
                        const py::handle& alloc, const py::handle& out) {
  const DeviceArray x = device_array(x_in, op, "x");
  const Window2d g = contract::pool_forward(op, x.d, pool_args(pool, strides, padding, op));
  require_same_device(op, {{"x", &x}});
  const DeviceArray y = output(alloc, contract::out_shape(g, g.c), op, "y", out, 0, 1, {{"x", &x}});
  launch(op, stream, [&] {
    return is_max ? gpu::max_pool2d_forward(g, x.f(), y.fm(), as_stream(stream))
                  : gpu::avg_pool2d_forward(g, x.f(), y.fm(), as_stream(stream));
  });
  return y.owner;
}

py::object pool_backward(const char* op, bool is_max, const py::handle& dy_in, const py::handle& x_in,
                         const py::handle& pool, const py::handle& strides, const py::handle& padding,
                         uintptr_t stream, const py::handle& alloc, const py::handle& out) {
  const DeviceArray dy = device_array(dy_in, op, "dy"), x = device_array(x_in, op, "x");
  const Window2d g = contract::pool_backward(op, dy.d, x.d, pool_args(pool, strides, padding, op));
  require_same_device(op, {{"dy", &dy}, {"x", &x}});
  const DeviceArray dx = output(alloc, x.shape, op, "dx", out, 0, 1, {{"dy", &dy}, {"x", &x}});
  launch(op, stream, [&] {
    return is_max ? gpu::max_pool2d_backward(g, dy.f(), x.f(), dx.fm(), as_stream(stream))
                  : gpu::avg_pool2d_backward(g, dy.f(), dx.fm(), as_stream(stream));
  });
  return dx.owner;
}

}  // namespace

void bind_pooling(py::module_& m) {
  using H = const py::handle&;
  for (bool is_max : {true, false}) {
    const char* fwd = is_max ? "max_pool2d" : "avg_pool2d";
    const char* bwd = is_max ? "max_pool2d_backward" : "avg_pool2d_backward";
    m.def(fwd, [fwd, is_max](H x, H p, H s, H pad, uintptr_t stream, H alloc, H out) {
      return pool_forward(fwd, is_max, x, p, s, pad, stream, alloc, out);
    }, py::arg("x"), py::arg("pool_size") = py::make_tuple(2, 2), py::arg("strides") = py::none(),
          py::arg("padding") = "valid", py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
    m.def(bwd, [bwd, is_max](H dy, H x, H p, H s, H pad, uintptr_t stream, H alloc, H out) {
      return pool_backward(bwd, is_max, dy, x, p, s, pad, stream, alloc, out);
    }, py::arg("dy"), py::arg("x"), py::arg("pool_size") = py::make_tuple(2, 2), py::arg("strides") = py::none(),
          py::arg("padding") = "valid", py::kw_only(), py::arg("stream"), py::arg("alloc"), py::arg("out") = py::none());
  }
}

}  // namespace forgenet::bind::cuda

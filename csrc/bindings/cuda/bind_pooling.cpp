#include "bindings/cuda/args.h"
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "cuda/pooling.h"

namespace forgenet::bind::cuda {

namespace {

// strides=None means strides = pool_size (Keras).
gpu::Window pool_geometry(const char* op, const DeviceArray& x, const py::handle& pool_in,
                          const py::handle& strides_in, const py::handle& padding_in) {
  const Pair p = pair_arg(pool_in, op, "pool_size");
  const Pair s = strides_in.is_none() ? p : pair_arg(strides_in, op, "strides");
  const bool same = padding_arg(padding_in, op);
  const int64_t h = x.dim(1), w = x.dim(2);
  if (!same && (p.first > h || p.second > w))
    value_error(op, ": pool_size (", p.first, ", ", p.second, ") larger than input (", h, ", ", w,
                ") with padding='valid'");
  return gpu::make_window(x.dim(0), h, w, x.dim(3), p.first, p.second, s.first, s.second, same);
}

py::object pool_forward(const char* op, bool is_max, const py::handle& x_in, const py::handle& pool,
                        const py::handle& strides, const py::handle& padding, uintptr_t stream,
                        const py::handle& alloc) {
  const DeviceArray x = device_array(x_in, op, "x", 4);
  const gpu::Window g = pool_geometry(op, x, pool, strides, padding);
  require_same_device(op, {{"x", &x}});
  const DeviceArray y = allocate(alloc, {g.n, g.ho, g.wo, g.c}, op, "y");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = is_max ? gpu::max_pool2d_forward(g, x.f(), y.fm(), as_stream(stream))
                 : gpu::avg_pool2d_forward(g, x.f(), y.fm(), as_stream(stream));
  }
  check_cuda(err, op);
  return y.owner;
}

py::object pool_backward(const char* op, bool is_max, const py::handle& dy_in, const py::handle& x_in,
                         const py::handle& pool, const py::handle& strides, const py::handle& padding,
                         uintptr_t stream, const py::handle& alloc) {
  const DeviceArray dy = device_array(dy_in, op, "dy", 4), x = device_array(x_in, op, "x", 4);
  const gpu::Window g = pool_geometry(op, x, pool, strides, padding);
  if (dy.dim(0) != g.n || dy.dim(1) != g.ho || dy.dim(2) != g.wo || dy.dim(3) != g.c)
    value_error(op, ": dy must have the forward output's shape (", g.n, ", ", g.ho, ", ", g.wo, ", ", g.c,
                "), got ", shape_str(dy.shape));
  require_same_device(op, {{"dy", &dy}, {"x", &x}});
  const DeviceArray dx = allocate(alloc, x.shape, op, "dx");
  cudaError_t err;
  {
    py::gil_scoped_release nogil;
    err = is_max ? gpu::max_pool2d_backward(g, dy.f(), x.f(), dx.fm(), as_stream(stream))
                 : gpu::avg_pool2d_backward(g, dy.f(), dx.fm(), as_stream(stream));
  }
  check_cuda(err, op);
  return dx.owner;
}

}  // namespace

void bind_pooling(py::module_& m) {
  using H = const py::handle&;
  for (bool is_max : {true, false}) {
    const char* fwd = is_max ? "max_pool2d" : "avg_pool2d";
    const char* bwd = is_max ? "max_pool2d_backward" : "avg_pool2d_backward";
    m.def(fwd, [fwd, is_max](H x, H p, H s, H pad, uintptr_t stream, H alloc) {
      return pool_forward(fwd, is_max, x, p, s, pad, stream, alloc);
    }, py::arg("x"), py::arg("pool_size") = py::make_tuple(2, 2), py::arg("strides") = py::none(),
          py::arg("padding") = "valid", py::kw_only(), py::arg("stream"), py::arg("alloc"));
    m.def(bwd, [bwd, is_max](H dy, H x, H p, H s, H pad, uintptr_t stream, H alloc) {
      return pool_backward(bwd, is_max, dy, x, p, s, pad, stream, alloc);
    }, py::arg("dy"), py::arg("x"), py::arg("pool_size") = py::make_tuple(2, 2), py::arg("strides") = py::none(),
          py::arg("padding") = "valid", py::kw_only(), py::arg("stream"), py::arg("alloc"));
  }
}

}  // namespace forgenet::bind::cuda

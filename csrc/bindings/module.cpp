// forgenet._C: the CPU kernels. Kernels live in csrc/cpu and know nothing of Python; each
// bind_<family>.cpp validates its arguments and releases the GIL around the kernel call.
#include <omp.h>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "cpu/cpu_features.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
  m.doc() = "forgenet CPU kernels (C++17, OpenMP)";
  m.def("set_num_threads", [](int n) {
    if (n <= 0) forgenet::bind::value_error("set_num_threads: n must be a positive integer, got ", n);
    omp_set_num_threads(n);
  }, py::arg("n"));
  m.def("get_num_threads", []() { return omp_get_max_threads(); });
  m.def("isa", []() { return std::string(forgenet::isa_name(forgenet::best_isa())); },
        "The SIMD instruction set the kernels use on this CPU.");
  forgenet::bind::bind_softmax(m);
  forgenet::bind::bind_lstm(m);
  forgenet::bind::bind_embedding(m);
  forgenet::bind::bind_gemm(m);
  forgenet::bind::bind_conv2d(m);
  forgenet::bind::bind_pooling(m);
  forgenet::bind::bind_attention(m);
  forgenet::bind::bind_layernorm(m);
  forgenet::bind::bind_optimizer(m);
  forgenet::bind::bind_batchnorm(m);
  forgenet::bind::bind_depthwise(m);
  forgenet::bind::bind_memory(m);
  forgenet::bind::bind_gru(m);
  forgenet::bind::bind_simple_rnn(m);
}

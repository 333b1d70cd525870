// forgenet._C: the CPU kernels. Kernels live in csrc/cpu and know nothing of Python; each
// bind_<family>.cpp runs its family's contract (bindings/contracts/), allocates the outputs and runs the
// kernel without the GIL.
#include <algorithm>
#include <atomic>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/translate.h"
#include "bindings/window_args.h"
#include "cpu/cpu_features.h"
#include "cpu/test_hooks.h"
#include "cpu/thread_pool.h"

namespace py = pybind11;

namespace {

// A bound far above any useful count (threads beyond a few per core only add overhead) and far below
// the counts that exhaust memory (every worker has a stack).
int max_threads() { return std::max(4 * forgenet::pool::available_cpus(), 64); }

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "forgenet CPU kernels (C++17, their own thread pool)";
  forgenet::bind::register_translators();
  m.def("set_num_threads", [](const py::handle& n_in) {
    const int64_t n = forgenet::bind::int_arg(n_in, "set_num_threads", "n");
    if (n < 1 || n > max_threads())
      forgenet::value_error("set_num_threads: n must be in [1, ", max_threads(), "] (4 per core, at least 64), got ", n);
    forgenet::pool::set_max_threads(static_cast<int>(n));
  }, py::arg("n"));
  m.def("get_num_threads", []() { return forgenet::pool::max_threads(); });
  m.def("_max_threads", &max_threads, "The largest count set_num_threads accepts.");
  m.def("isa", []() { return std::string(forgenet::isa_name(forgenet::best_isa())); },
        "The SIMD instruction set the kernels use on this CPU.");
  m.def("_parallel_for_probe", [](int64_t n, int64_t grain, int64_t fail_at) {
    py::list out;
    for (const auto& c : forgenet::parallel_for_probe(n, grain, fail_at))
      out.append(py::make_tuple(c.chunk, c.lo, c.hi, c.inner_chunks));
    return out;
  }, py::arg("n"), py::arg("grain"), py::arg("fail_at") = -1, "Test hook: the chunks parallel_for runs.");
  m.def("_parallel_run_probe", [](int chunks, int threads) {
    const std::vector<int> r = forgenet::parallel_run_probe(chunks, threads);
    const size_t n = r.size() / 2;
    py::list runs, slots;
    for (size_t i = 0; i < n; ++i) {
      runs.append(r[i]);
      slots.append(r[n + i]);
    }
    return py::make_tuple(runs, slots);
  }, py::arg("chunks"), py::arg("threads"),
        "Test hook: (times each chunk of a claimed loop ran, the pool slot that ran it).");
  m.def("_scratch_probe", [](int64_t floats, int64_t inner) {
    py::list out;
    for (int64_t a : forgenet::scratch_probe(floats, inner)) out.append(a);
    return out;
  }, py::arg("floats"), py::arg("inner") = 0,
        "Test hook: addresses of a Scratch frame (and a nested one).");
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
  forgenet::bind::bind_clock(m);
  forgenet::bind::bind_pointwise(m);
  forgenet::bind::bind_xla_ffi(m);
}

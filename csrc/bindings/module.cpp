// forgenet._C: the CPU kernels. Kernels live in csrc/cpu and know nothing of Python; each
// bind_<family>.cpp runs its family's contract (bindings/contracts/), allocates the outputs and runs the
// kernel without the GIL.
#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>

#include "bindings/bindings.h"
#include "bindings/checks.h"
#include "bindings/translate.h"
#include "bindings/window_args.h"
#include "cpu/cpu_features.h"
#include "cpu/test_hooks.h"

namespace py = pybind11;

namespace {

// libgomp's thread pool does not survive fork(): a child whose parent had started OpenMP threads hangs
// in its first parallel region with more than one thread, and in any region after it asks for more
// threads again. So a forked child runs every kernel on one thread, for good (set_num_threads there
// warns and keeps 1); use the 'spawn' or 'forkserver' start method for multi-threaded workers.
std::atomic<bool> g_forked{false};

void after_fork_in_child() {
  g_forked.store(true);
  omp_set_num_threads(1);
}

// A bound far above any useful count (threads beyond a few per core only add overhead) and far below
// the counts that exhaust memory or the OpenMP runtime (100000 threads abort it under a memory limit).
int max_threads() { return std::max(4 * omp_get_num_procs(), 64); }

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "forgenet CPU kernels (C++17, OpenMP)";
  forgenet::bind::register_translators();
  pthread_atfork(nullptr, nullptr, &after_fork_in_child);
  m.def("set_num_threads", [](const py::handle& n_in) {
    const int64_t n = forgenet::bind::int_arg(n_in, "set_num_threads", "n");
    if (n < 1 || n > max_threads())
      forgenet::value_error("set_num_threads: n must be in [1, ", max_threads(), "] (4 per core, at least 64), got ", n);
    if (g_forked.load()) {
      if (n > 1)
        PyErr_WarnEx(PyExc_RuntimeWarning,
                     "set_num_threads: this process was forked from one that had started OpenMP threads; their "
                     "pool does not survive fork, so forgenet stays on one thread here (use the 'spawn' or "
                     "'forkserver' start method for multi-threaded workers)", 1);
      return;
    }
    omp_set_num_threads(static_cast<int>(n));
  }, py::arg("n"));
  m.def("get_num_threads", []() { return omp_get_max_threads(); });
  m.def("_max_threads", &max_threads, "The largest count set_num_threads accepts.");
  m.def("_forked_single_threaded", []() { return g_forked.load(); },
        "True in a child forked from this process: the kernels run on one thread there.");
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
}

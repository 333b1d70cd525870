// forgenet._cuda: the CUDA kernels of csrc/cuda. Importing it needs no GPU and no driver (cudart is
// linked statically and finds the driver at first use); device_count() is then 0.
#include "bindings/cuda/bindings.h"
#include "bindings/cuda/device_array.h"
#include "bindings/translate.h"
#include "cuda/runtime.h"

namespace py = pybind11;
namespace gpu = forgenet::gpu;

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "forgenet CUDA kernels (ops on __cuda_array_interface__ arrays; see forgenet._cuda_backend)";
  forgenet::bind::register_translators();
  m.def("device_count", []() { return gpu::device_count(); },
        "Number of CUDA GPUs; 0 when there is no GPU or no (new enough) driver.");
  m.def("device_status", []() {
    std::string why;
    const int n = gpu::device_count(&why);
    return n > 0 ? std::to_string(n) + " CUDA device(s)" : why;
  }, "Why device_count() is 0 (or how many devices there are), in words.");
  m.def("runtime_version", &gpu::runtime_version, "CUDA runtime version linked in, e.g. 13000 for 13.0.");
  m.def("driver_version", []() { return gpu::driver_version(); },
        "CUDA version the installed driver supports (0 without a driver).");
  forgenet::bind::cuda::bind_gemm(m);
  forgenet::bind::cuda::bind_softmax(m);
  forgenet::bind::cuda::bind_pooling(m);
  forgenet::bind::cuda::bind_conv2d(m);
  forgenet::bind::cuda::bind_lstm(m);
  forgenet::bind::cuda::bind_attention(m);
  forgenet::bind::cuda::bind_embedding(m);
  forgenet::bind::cuda::bind_layernorm(m);
  forgenet::bind::cuda::bind_optimizer(m);
  forgenet::bind::cuda::bind_batchnorm(m);
  forgenet::bind::cuda::bind_depthwise(m);
  forgenet::bind::cuda::bind_gru(m);
}

// forgenet._cuda: one registration function per op family, called from module.cpp. Every op takes the
// arguments of its forgenet._C twin plus two keyword-only ones: `stream` (a cudaStream_t as an int,
// e.g. cupy.cuda.get_current_stream().ptr) on which everything is launched, and `alloc`, a callable
// shape -> new float32 device array, used for outputs and scratch. Nothing synchronises.
#pragma once
#include <pybind11/pybind11.h>

namespace forgenet::bind::cuda {
void bind_gemm(pybind11::module_& m);
void bind_softmax(pybind11::module_& m);
void bind_pooling(pybind11::module_& m);
void bind_conv2d(pybind11::module_& m);
void bind_lstm(pybind11::module_& m);
void bind_attention(pybind11::module_& m);
void bind_embedding(pybind11::module_& m);
void bind_layernorm(pybind11::module_& m);
void bind_optimizer(pybind11::module_& m);
void bind_batchnorm(pybind11::module_& m);
void bind_depthwise(pybind11::module_& m);
void bind_gru(pybind11::module_& m);  // gru and simple_rnn
}  // namespace forgenet::bind::cuda

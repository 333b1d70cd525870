// One registration function per op family; module.cpp calls them all.
#pragma once
#include <pybind11/pybind11.h>

namespace forgenet::bind {
void bind_softmax(pybind11::module_& m);
void bind_lstm(pybind11::module_& m);
void bind_embedding(pybind11::module_& m);
void bind_gemm(pybind11::module_& m);
void bind_conv2d(pybind11::module_& m);
void bind_pooling(pybind11::module_& m);
void bind_attention(pybind11::module_& m);
void bind_layernorm(pybind11::module_& m);
void bind_optimizer(pybind11::module_& m);
void bind_batchnorm(pybind11::module_& m);
void bind_depthwise(pybind11::module_& m);
void bind_memory(pybind11::module_& m);
void bind_gru(pybind11::module_& m);
void bind_simple_rnn(pybind11::module_& m);
void bind_clock(pybind11::module_& m);
void bind_pointwise(pybind11::module_& m);
void bind_xla_ffi(pybind11::module_& m);  // _xla_ffi_targets (None when built without the FFI headers)
}  // namespace forgenet::bind

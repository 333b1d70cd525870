"""The kernel API: pure functions on arrays, forward and backward (design-notes section 2).

float32 in, float32 out; numpy arrays run on the CPU kernels (forgenet._C), CuPy arrays on the CUDA
kernels; the result has the input's kind. Non-contiguous inputs are copied; other dtypes are a
TypeError naming the op.
"""
from forgenet.kernels.attention import attention, attention_backward
from forgenet.kernels.batchnorm import batch_norm, batch_norm_backward, batch_norm_inference
from forgenet.kernels.depthwise import depthwise_conv2d, depthwise_conv2d_backward
from forgenet.kernels.conv import conv2d, conv2d_backward
from forgenet.kernels.embedding import embedding, embedding_backward
from forgenet.kernels.gemm import PackedB, gemm, gemm_pack_b
from forgenet.kernels.lstm import lstm, lstm_backward
from forgenet.kernels.gru import gru, gru_backward
from forgenet.kernels.simple_rnn import simple_rnn, simple_rnn_backward
from forgenet.kernels.optimizer import (adadelta_update, adagrad_update, adam_update, adamax_update, ftrl_update,
                                       lion_update, nadam_update, rmsprop_update, sgd_update)
from forgenet.kernels.layernorm import layer_norm, layer_norm_backward
from forgenet.kernels.pointwise import bias_relu_backward, relu_, relu_backward
from forgenet.kernels.pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from forgenet.kernels.softmax import softmax, softmax_backward, softmax_cross_entropy

__all__ = [
    "gemm", "gemm_pack_b",
    "softmax", "softmax_backward", "softmax_cross_entropy",
    "conv2d", "conv2d_backward",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "lstm", "lstm_backward", "gru", "gru_backward", "simple_rnn", "simple_rnn_backward",
    "embedding", "embedding_backward",
    "attention", "attention_backward",
    "layer_norm", "layer_norm_backward",
    "adam_update", "sgd_update", "rmsprop_update", "adagrad_update", "adadelta_update", "adamax_update",
    "nadam_update", "lion_update", "ftrl_update",
    "batch_norm", "batch_norm_inference", "batch_norm_backward",
    "depthwise_conv2d", "depthwise_conv2d_backward",
    "relu_", "relu_backward", "bias_relu_backward",
]

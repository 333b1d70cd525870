"""Differentiable functions on Tensors: the bridge between `ops` (arrays, kernels) and `layers`.

Each function here is a `Function` subclass whose forward calls a forgenet op and whose backward
calls that op's backward kernel. Layers compose these; so can users (`from forgenet import functional as F`).
"""
from forgenet.functional.activation import (activation_name, gelu, get_activation, linear, relu, sigmoid,
                                            softmax, softmax_logits, tanh)
from forgenet.functional.math import (add, concatenate, div, exp, log, matmul, mean, mul, power, reshape,
                                      sqrt, sub, sum, transpose)
from forgenet.functional.cross_entropy import softmax_cross_entropy
from forgenet.functional.conv import conv2d
from forgenet.functional.dense import dense
from forgenet.functional.dropout import dropout
from forgenet.functional.embedding import embedding
from forgenet.functional.lstm import lstm
from forgenet.functional.gru import gru, simple_rnn
from forgenet.functional.pooling import avg_pool2d, max_pool2d
from forgenet.functional.attention import attention, attention_with_scores
from forgenet.functional.normalization import layer_norm

__all__ = ["add", "sub", "mul", "div", "power", "matmul", "reshape", "transpose", "sum", "mean",
           "exp", "log", "sqrt", "concatenate", "relu", "sigmoid", "tanh", "gelu", "softmax", "linear",
           "get_activation", "activation_name", "softmax_logits", "softmax_cross_entropy",
           "conv2d", "dense", "max_pool2d", "avg_pool2d", "dropout", "attention", "attention_with_scores", "layer_norm",
           "embedding", "lstm", "gru", "simple_rnn"]

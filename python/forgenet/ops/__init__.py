"""`keras.ops` for forgenet: differentiable numpy-style functions on arrays and Tensors.

Given Tensors (inside a model's call, a custom train_step or a loss) every function here records its
backward, so gradients flow through it; given arrays it computes eagerly and returns arrays of the
same kind. Where one of our kernels does the work (softmax, matmul, conv, attention...) the function
calls it through `forgenet.functional`; the raw kernel API on arrays is `forgenet.kernels`.
"""
from forgenet.ops.core import cast, convert_to_numpy, convert_to_tensor, is_tensor, shape, stop_gradient
from forgenet.ops.nn import gelu, relu, sigmoid, softmax, tanh
from forgenet.ops.numpy import (add, concatenate, divide, exp, log, matmul, mean, multiply, negative, power,
                                reshape, sqrt, subtract, sum, transpose)

__all__ = ["cast", "convert_to_numpy", "convert_to_tensor", "is_tensor", "shape", "stop_gradient",
           "gelu", "relu", "sigmoid", "softmax", "tanh",
           "add", "concatenate", "divide", "exp", "log", "matmul", "mean", "multiply", "negative", "power",
           "reshape", "sqrt", "subtract", "sum", "transpose"]

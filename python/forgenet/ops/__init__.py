"""The kernel API: pure functions on arrays, forward and backward (design-notes section 2).

float32 in, float32 out; numpy arrays run on the CPU kernels (forgenet._C), CuPy arrays on the CUDA
kernels; the result has the input's kind. Non-contiguous inputs are copied; other dtypes are a
TypeError naming the op.
"""
from forgenet.ops.embedding import embedding, embedding_backward
from forgenet.ops.lstm import lstm, lstm_backward
from forgenet.ops.softmax import softmax, softmax_backward, softmax_cross_entropy

__all__ = ["softmax", "softmax_backward", "softmax_cross_entropy", "lstm", "lstm_backward", "embedding",
           "embedding_backward"]

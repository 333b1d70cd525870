"""forgenet's kernels inside PyTorch: custom ops, differentiable functions and drop-in modules.

    import forgenet.torch as ft
    o = ft.scaled_dot_product_attention(q, k, v, is_causal=True)   # torch's SDPA signature
    lstm = ft.nn.LSTM(64, 128, batch_first=True)                   # nn.LSTM's arguments and weights
    y = torch.ops.forgenet.gemm(a, b, None, False, False, 1.0, 0.0)

Every kernel family is a torch.library custom op (torch.ops.forgenet.<name>, with fake kernels and
autograd), so it runs eagerly, under autograd and under torch.compile. The functions and modules here
take that op under torch.compile and every other tracer or mode; in plain eager calls on CPU tensors
they skip the custom-op dispatcher (tens of microseconds a call) and run the same kernel with the same
autograd formula directly (_eager.py). CPU tensors reach the kernels without a copy, as DLPack capsules
(forgenet._C reads them, _cpu.py); CUDA
tensors go to forgenet._cuda on torch's current stream when this forgenet was built with CUDA
(otherwise a RuntimeError says so). Importing forgenet never imports
torch: only importing forgenet.torch does.
"""
try:
    import torch
except ImportError as e:  # pragma: no cover - exercised where torch is absent
    raise ImportError("forgenet.torch needs PyTorch: pip install torch") from e

from forgenet.torch import _ops as _registered  # noqa: F401  (registers torch.ops.forgenet.*)
from forgenet.torch import nn  # noqa: E402
from forgenet.torch.functional import (  # noqa: E402
    attention, avg_pool2d, conv2d, cross_entropy, embedding, gemm, layer_norm, linear, lstm, max_pool2d,
    scaled_dot_product_attention, softmax, softmax_cross_entropy,
)

ops = torch.ops.forgenet

__all__ = ["ops", "nn", "gemm", "linear", "conv2d", "max_pool2d", "avg_pool2d", "softmax", "softmax_cross_entropy",
           "cross_entropy", "lstm", "embedding", "attention", "scaled_dot_product_attention", "layer_norm"]

"""Output shapes of the windowed kernels, for adapters that must know them before running a kernel
(torch's fake kernels, JAX's callback result types). forgenet.kernels checks the same rule."""
from __future__ import annotations


def window_out(op: str, x_shape, window, strides, padding: str) -> tuple[int, int, int]:
    """(N, Ho, Wo) of a conv or pool over NHWC x_shape: 'valid' floor((H - K) / S) + 1, 'same' ceil(H / S)."""
    n, h, w = x_shape[0], x_shape[1], x_shape[2]
    if padding == "valid":
        return n, (h - window[0]) // strides[0] + 1, (w - window[1]) // strides[1] + 1
    if padding == "same":
        return n, -(-h // strides[0]), -(-w // strides[1])
    raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")

"""2-D max and average pooling on NHWC arrays, forward and backward.

Padded positions never take part ('same' padding follows TensorFlow): a max ignores them and an
average divides by the number of real elements in its window, as Keras does. Max-pool gradients go to
the FIRST maximal element of each window in row-major order (the first NaN if the window has one);
overlapping windows (strides < pool_size) accumulate. The backward pass recomputes the argmax from x,
so no state is kept between forward and backward.
"""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, pair, padding_word


def _geometry(op, x, pool_size, strides, padding):
    pool_size = pair(op, "pool_size", pool_size)
    strides = pool_size if strides is None else pair(op, "strides", strides)
    padding = padding_word(op, padding)
    n, h, w, c = x.shape
    if padding == "valid":
        if pool_size[0] > h or pool_size[1] > w:
            raise ValueError(f"{op}: pool_size {pool_size} larger than input ({h}, {w}) with padding='valid'")
        ho, wo = (h - pool_size[0]) // strides[0] + 1, (w - pool_size[1]) // strides[1] + 1
    else:
        ho, wo = -(-h // strides[0]), -(-w // strides[1])
    return pool_size, strides, padding, (n, ho, wo, c)


def _forward(op, x, pool_size, strides, padding):
    x = as_f32(op, "x", x, ndim=4)
    pool_size, strides, padding, _ = _geometry(op, x, pool_size, strides, padding)
    return getattr(backend(op, x), op)(x, pool_size, strides, padding)


def _backward(op, dy, x, pool_size, strides, padding):
    dy = as_f32(op, "dy", dy, ndim=4)
    x = as_f32(op, "x", x, ndim=4)
    pool_size, strides, padding, out_shape = _geometry(op, x, pool_size, strides, padding)
    if tuple(dy.shape) != out_shape:
        raise ValueError(f"{op}: dy must have the forward output's shape {out_shape}, got {tuple(dy.shape)}")
    return getattr(backend(op, dy, x), op)(dy, x, pool_size, strides, padding)


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Max over each pool_size window of x (N,H,W,C) -> (N,Ho,Wo,C); strides default to pool_size.

    Arrays: x (N, H, W, C) float32, NHWC, C order; numpy (CPU) or CuPy (GPU) on one device, results new arrays
    of that kind. Returns (N, Ho, Wo, C) float32.
    """
    return _forward("max_pool2d", x, pool_size, strides, padding)


def max_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid"):
    """dx: each dy element added to its window's first argmax in x.

    Arrays: dy (N, Ho, Wo, C), x (N, H, W, C) float32, NHWC; numpy (CPU) or CuPy (GPU) on one device, results
    new arrays of that kind. Returns dx (N, H, W, C) float32.
    """
    return _backward("max_pool2d_backward", dy, x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Mean over the real (unpadded) elements of each pool_size window of x (N,H,W,C) -> (N,Ho,Wo,C).

    Arrays: x (N, H, W, C) float32, NHWC, C order; numpy (CPU) or CuPy (GPU) on one device, results new arrays
    of that kind. Returns (N, Ho, Wo, C) float32.
    """
    return _forward("avg_pool2d", x, pool_size, strides, padding)


def avg_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid"):
    """dx: each dy element spread evenly over the real elements of its window (x gives the shape only).

    Arrays: dy (N, Ho, Wo, C), x (N, H, W, C) float32, NHWC; numpy (CPU) or CuPy (GPU) on one device, results
    new arrays of that kind. Returns dx (N, H, W, C) float32.
    """
    return _backward("avg_pool2d_backward", dy, x, pool_size, strides, padding)

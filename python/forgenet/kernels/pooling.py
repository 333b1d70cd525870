"""2-D max and average pooling on NHWC arrays, forward and backward.

Padded positions never take part ('same' padding follows TensorFlow): a max ignores them and an
average divides by the number of real elements in its window, as Keras does. Max-pool gradients go to
the FIRST maximal element of each window in row-major order (the first NaN if the window has one);
overlapping windows (strides < pool_size) accumulate. The backward pass recomputes the argmax from x,
so no state is kept between forward and backward.

Every function takes out=: a float32 C-contiguous buffer of the result's shape that the kernel writes
into (and that is returned).
"""
from __future__ import annotations

from forgenet.kernels._array import as_f32, backend, out_kw, pair, padding_word


# The window rules (pool_size vs input, output shape, dy's shape) are the family's contract in C++
# (csrc/bindings/contracts/window.h), shared by both devices; here only conversion and dispatch.
def _forward(op, x, pool_size, strides, padding, out):
    x = as_f32(op, "x", x, ndim=4)
    pool_size = pair(op, "pool_size", pool_size)
    strides = pool_size if strides is None else pair(op, "strides", strides)
    return getattr(backend(op, x), op)(x, pool_size, strides, padding_word(op, padding), **out_kw(out))


def _backward(op, dy, x, pool_size, strides, padding, out):
    dy = as_f32(op, "dy", dy, ndim=4)
    x = as_f32(op, "x", x, ndim=4)
    pool_size = pair(op, "pool_size", pool_size)
    strides = pool_size if strides is None else pair(op, "strides", strides)
    return getattr(backend(op, dy, x), op)(dy, x, pool_size, strides, padding_word(op, padding), **out_kw(out))


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid", *, out=None):
    """Max over each pool_size window of x (N,H,W,C) -> (N,Ho,Wo,C); strides default to pool_size.

    Arrays: x (N, H, W, C) float32, NHWC, C order; numpy (CPU) or CuPy (GPU) on one device, results new arrays
    of that kind. Returns (N, Ho, Wo, C) float32.
    """
    return _forward("max_pool2d", x, pool_size, strides, padding, out)


def max_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid", *, out=None):
    """dx: each dy element added to its window's first argmax in x.

    Arrays: dy (N, Ho, Wo, C), x (N, H, W, C) float32, NHWC; numpy (CPU) or CuPy (GPU) on one device, results
    new arrays of that kind. Returns dx (N, H, W, C) float32.
    """
    return _backward("max_pool2d_backward", dy, x, pool_size, strides, padding, out)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid", *, out=None):
    """Mean over the real (unpadded) elements of each pool_size window of x (N,H,W,C) -> (N,Ho,Wo,C).

    Arrays: x (N, H, W, C) float32, NHWC, C order; numpy (CPU) or CuPy (GPU) on one device, results new arrays
    of that kind. Returns (N, Ho, Wo, C) float32.
    """
    return _forward("avg_pool2d", x, pool_size, strides, padding, out)


def avg_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid", *, out=None):
    """dx: each dy element spread evenly over the real elements of its window (x gives the shape only).

    Arrays: dy (N, Ho, Wo, C), x (N, H, W, C) float32, NHWC; numpy (CPU) or CuPy (GPU) on one device, results
    new arrays of that kind. Returns dx (N, H, W, C) float32.
    """
    return _backward("avg_pool2d_backward", dy, x, pool_size, strides, padding, out)

"""Shape functions the padding, cropping, upsampling and convolution layers compose: each a Function
with a direct backward (a slice, a sum over repeats), never the generic scatter of getitem."""
from __future__ import annotations

import numpy as np

from forgenet import kernels
from forgenet.autograd.tensor import Function, array_module


class _Pad(Function):
    def forward(self, x, pads):
        xp = array_module(x)
        out = xp.zeros(tuple(n + a + b for n, (a, b) in zip(x.shape, pads)), dtype=x.dtype)
        inner = tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, pads))
        out[inner] = x
        self.save(inner)
        return out

    def backward(self, g):
        return g[self.saved[0]], None


class _Slice(Function):
    def forward(self, x, index):
        self.save(x.shape, index)
        return x[index].copy()

    def backward(self, g):
        shape, index = self.saved
        out = array_module(g).zeros(shape, dtype=g.dtype)
        out[index] = g
        return out, None


class _Repeat(Function):
    """Each element repeated `n` times along `axis` (nearest-neighbour upsampling, RepeatVector)."""

    def forward(self, x, n, axis):
        self.save(x.shape, n, axis)
        return array_module(x).repeat(x, n, axis=axis)

    def backward(self, g):
        shape, n, axis = self.saved
        split = shape[:axis] + (shape[axis], n) + shape[axis + 1:]
        return g.reshape(split).sum(axis=axis + 1), None, None


class _DilateKernel(Function):
    """(KH, KW, ...) -> ((KH-1)*dh+1, (KW-1)*dw+1, ...) with zeros between the taps: a dilated
    convolution is the plain one with this kernel."""

    def forward(self, k, rate):
        dh, dw = rate
        xp = array_module(k)
        out = xp.zeros(((k.shape[0] - 1) * dh + 1, (k.shape[1] - 1) * dw + 1) + k.shape[2:], dtype=k.dtype)
        out[::dh, ::dw] = k
        self.save(rate)
        return out

    def backward(self, g):
        dh, dw = self.saved[0]
        return xp_copy(g[::dh, ::dw]), None


def xp_copy(a):
    return array_module(a).ascontiguousarray(a)


class _ReduceMax(Function):
    """max over axes; the gradient is shared equally by tied maxima (as torch.amax)."""

    def forward(self, x, axis, keepdims):
        xp = array_module(x)
        m = x.max(axis=axis, keepdims=True)
        hit = (x == m).astype(x.dtype)
        hit /= hit.sum(axis=axis, keepdims=True)
        self.save(hit, axis, keepdims)
        return m if keepdims else xp.squeeze(m, axis=axis)

    def backward(self, g):
        hit, axis, keepdims = self.saved
        if not keepdims:
            g = array_module(g).expand_dims(g, axis)
        return g * hit, None, None


class _ConvTranspose2D(Function):
    """The gradient of conv2d with respect to its input, as a layer: x (N,H,W,Cin) and kernel
    (KH,KW,F,Cin) -> (N,Ho,Wo,F), where conv2d(y, kernel, strides, padding) has x's shape. Its backward
    is that conv2d (for x) and the conv's kernel gradient (for the kernel)."""

    def forward(self, x, kernel, out_hw, strides, padding):
        xp = array_module(x)
        ghost = xp.zeros((x.shape[0],) + tuple(out_hw) + (kernel.shape[2],), dtype=np.float32)
        dx, _, _ = kernels.conv2d_backward(x, ghost, kernel, strides=strides, padding=padding, need_db=False)
        self.save(x, kernel, strides, padding)
        return dx

    def backward(self, g):
        x, kernel, strides, padding = self.saved
        g = array_module(g).ascontiguousarray(g)
        dx = kernels.conv2d(g, kernel, None, strides=strides, padding=padding)
        _, dk, _ = kernels.conv2d_backward(x, g, kernel, strides=strides, padding=padding, need_dx=False,
                                           need_db=False)
        return dx, dk, None, None, None


class _BatchMatMul(Function):
    """a (B, M, K) @ b (B, K, N) (or b^T with trans_b, b (B, N, K)), one GEMM per batch entry."""

    def forward(self, a, b, trans_b):
        xp = array_module(a)
        a, b = xp.ascontiguousarray(a), xp.ascontiguousarray(b)
        out = xp.empty((a.shape[0], a.shape[1], b.shape[1] if trans_b else b.shape[2]), dtype=np.float32)
        for i in range(a.shape[0]):
            out[i] = kernels.gemm(a[i], b[i], trans_b=trans_b)
        self.save(a, b, trans_b)
        return out

    def backward(self, g):
        a, b, trans_b = self.saved
        xp = array_module(g)
        g = xp.ascontiguousarray(g, dtype=np.float32)
        da, db = xp.empty_like(a), xp.empty_like(b)
        for i in range(a.shape[0]):
            da[i] = kernels.gemm(g[i], b[i], trans_b=not trans_b)
            db[i] = kernels.gemm(g[i], a[i], trans_a=True) if trans_b else kernels.gemm(a[i], g[i], trans_a=True)
        return da, db, None


def pad(x, pads):
    """Zero padding: pads holds one (before, after) pair per axis."""
    return _Pad.apply(x, tuple((int(a), int(b)) for a, b in pads))


def slice_axes(x, index):
    """x[index] for a tuple of slices (a contiguous copy); the backward writes g into zeros."""
    return _Slice.apply(x, tuple(index))


def repeat(x, n, axis):
    return _Repeat.apply(x, int(n), int(axis) % len(x.shape))


def dilate_kernel(kernel, rate):
    rate = tuple(int(r) for r in rate)
    return kernel if rate == (1, 1) else _DilateKernel.apply(kernel, rate)


def reduce_max(x, axis, keepdims=False):
    axis = tuple(a % len(x.shape) for a in ((axis,) if isinstance(axis, int) else axis))
    return _ReduceMax.apply(x, axis, bool(keepdims))


def conv2d_transpose(x, kernel, out_hw, strides=(1, 1), padding="valid"):
    return _ConvTranspose2D.apply(x, kernel, tuple(out_hw), tuple(strides), padding)


def batch_matmul(a, b, trans_b=False):
    return _BatchMatMul.apply(a, b, bool(trans_b))

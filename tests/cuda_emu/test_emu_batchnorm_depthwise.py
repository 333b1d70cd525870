"""The emulated CUDA batch-norm and depthwise-conv bindings (see conftest.py) against forgenet._C,
called as python/forgenet/kernels/batchnorm.py and depthwise.py call them, plus bad inputs: the GPU
binding must reject what the CPU one rejects, with the same message."""
import re

import numpy as np
import pytest

from emu_support import D, alloc, host, same
from forgenet import _C


def raw(emu, name, *args, **kw):
    return getattr(emu.module, name)(*args, stream=0, alloc=alloc, **kw)


@pytest.mark.parametrize("shape,axis,offset", [((9, 5), -1, 0.0), ((2, 3, 4, 5), 1, 0.0), ((3, 4, 4, 6), -1, 50.0),
                                               ((1, 7), -1, 0.0), ((6,), 0, 0.0)])
def test_batch_norm_bindings_match_cpu(ops, rng, shape, axis, offset):
    x = (rng.standard_normal(shape) + offset).astype(np.float32)
    c = shape[axis]
    gamma, beta = rng.uniform(0.5, 1.5, c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    cpu = _C.batch_norm(x, gamma, beta, axis, 1e-3)
    same("batch_norm", host(ops.batch_norm(D(x), D(gamma), D(beta), axis, 1e-3)), cpu, rtol=1e-4,
         atol=1e-3 if offset else 1e-4)
    _, mean, var = cpu
    same("batch_norm_inference", host(ops.batch_norm_inference(D(x), D(gamma), D(beta), D(mean), D(var), axis, 1e-3)),
         _C.batch_norm_inference(x, gamma, beta, mean, var, axis, 1e-3), rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(shape).astype(np.float32)
    for training in (True, False):
        same(f"batch_norm_backward training={training}",
             host(ops.batch_norm_backward(D(dy), D(x), D(gamma), D(mean), D(var), axis, 1e-3, training)),
             _C.batch_norm_backward(dy, x, gamma, mean, var, axis, 1e-3, training), rtol=1e-3, atol=1e-4)


def test_batch_norm_bad_inputs_match_cpu_messages(emu):
    x, g = np.zeros((4, 3), np.float32), np.ones(3, np.float32)
    for exc, msg, args in [
        (ValueError, "batch_norm: axis 2 is out of range for x of shape (4, 3)", (x, g, g, 2, 1e-3)),
        (ValueError, "batch_norm: gamma must have shape (3,) to match x (4, 3) on its channel axis, got (2,)",
         (x, g[:2].copy(), g, -1, 1e-3)),
        (ValueError, "batch_norm: epsilon must be >= 0, got -1", (x, g, g, -1, -1.0)),
        (TypeError, "batch_norm: x must be float32, got float64", (x.astype(np.float64), g, g, -1, 1e-3)),
    ]:
        with pytest.raises(exc, match=re.escape(msg)):
            _C.batch_norm(*args)
        with pytest.raises(exc, match=re.escape(msg)):
            raw(emu, "batch_norm", *[D(a) if isinstance(a, np.ndarray) else a for a in args])


@pytest.mark.parametrize("shape,kernel,strides,padding,dilation", [
    ((2, 7, 6, 3), (3, 3, 3, 1), (1, 1), "valid", (1, 1)),
    ((2, 7, 6, 3), (3, 2, 3, 2), (2, 2), "same", (1, 1)),
    ((1, 9, 8, 4), (3, 3, 4, 1), (1, 1), "same", (2, 2)),
    ((3, 4, 4, 2), (5, 5, 2, 1), (3, 3), "same", (1, 1)),
])
def test_depthwise_bindings_match_cpu(ops, rng, shape, kernel, strides, padding, dilation):
    x = rng.standard_normal(shape).astype(np.float32)
    k = rng.standard_normal(kernel).astype(np.float32)
    b = rng.standard_normal(kernel[2] * kernel[3]).astype(np.float32)
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation)
    y = _C.depthwise_conv2d(x, k, b, **kw)
    same("depthwise_conv2d", host(ops.depthwise_conv2d(D(x), D(k), D(b), **kw)), y, rtol=1e-4, atol=1e-5)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    same("depthwise_conv2d_backward", host(ops.depthwise_conv2d_backward(D(dy), D(x), D(k), **kw)),
         _C.depthwise_conv2d_backward(dy, x, k, **kw), rtol=1e-4, atol=1e-4)
    dx, dk, db = ops.depthwise_conv2d_backward(D(dy), D(x), D(k), need_dx=False, **kw)
    assert dx is None
    same("depthwise_conv2d_backward need_dx=False", (host(dk), host(db)),
         _C.depthwise_conv2d_backward(dy, x, k, need_dx=False, **kw)[1:], rtol=1e-4, atol=1e-4)


def test_depthwise_bad_inputs_match_cpu_messages(emu):
    x, k = np.zeros((1, 5, 5, 2), np.float32), np.zeros((3, 3, 3, 1), np.float32)
    for msg, args, kw in [
        ("depthwise_conv2d: x has 2 channels but kernel (3, 3, 3, 1) expects 3", (x, k), {}),
        ("depthwise_conv2d: strides > 1 with dilation_rate > 1 on the same axis is not supported",
         (x, k[:, :, :2].copy()), dict(strides=2, dilation_rate=2)),
        ("depthwise_conv2d: dilated kernel (5, 5) larger than input (4, 4)", (x[:, :4, :4].copy(), k[:, :, :2].copy()),
         dict(dilation_rate=2)),
    ]:
        with pytest.raises(ValueError, match=re.escape(msg)):
            _C.depthwise_conv2d(*args, **kw)
        with pytest.raises(ValueError, match=re.escape(msg)):
            raw(emu, "depthwise_conv2d", *[D(a) for a in args], **kw)

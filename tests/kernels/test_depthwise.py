"""kernels.depthwise_conv2d(_backward) against a float64 reference (sliding windows) and finite
differences: multipliers, strides, dilation, both paddings, windows larger than the input."""
import numpy as np
import pytest

from forgenet import kernels

from support import assert_close, numeric_grad


def ref_depthwise(x, k, b, strides, padding, dilation):
    x, k = np.asarray(x, np.float64), np.asarray(k, np.float64)
    n, h, w, c = x.shape
    kh, kw, _, m = k.shape
    (sh, sw), (dh, dw) = strides, dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        ho, wo = -(-h // sh), -(-w // sw)
        ph, pw = max((ho - 1) * sh + eh - h, 0), max((wo - 1) * sw + ew - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        ho, wo = (h - eh) // sh + 1, (w - ew) // sw + 1
    y = np.zeros((n, ho, wo, c, m))
    for a in range(kh):
        for bb in range(kw):
            patch = x[:, a * dh: a * dh + (ho - 1) * sh + 1: sh, bb * dw: bb * dw + (wo - 1) * sw + 1: sw, :]
            y += patch[..., None] * k[a, bb]
    y = y.reshape(n, ho, wo, c * m)
    return y if b is None else y + b


CASES = [((2, 7, 6, 3), (3, 3, 3, 1), (1, 1), "valid", (1, 1)),
         ((2, 7, 6, 3), (3, 2, 3, 2), (2, 2), "same", (1, 1)),
         ((1, 9, 8, 4), (3, 3, 4, 1), (1, 1), "same", (2, 2)),
         ((1, 9, 8, 2), (2, 3, 2, 3), (1, 1), "valid", (3, 2)),
         ((3, 4, 4, 5), (5, 5, 5, 1), (3, 3), "same", (1, 1)),
         ((2, 6, 6, 16), (3, 3, 16, 1), (1, 1), "same", (1, 1))]


@pytest.mark.parametrize("shape,kshape,strides,padding,dilation", CASES)
def test_forward_and_backward_match_float64(rng, shape, kshape, strides, padding, dilation):
    x = rng.standard_normal(shape).astype(np.float32)
    k = rng.standard_normal(kshape).astype(np.float32)
    b = rng.standard_normal(kshape[2] * kshape[3]).astype(np.float32)
    kw = dict(strides=strides, padding=padding, dilation_rate=dilation)
    y = kernels.depthwise_conv2d(x, k, b, **kw)
    assert_close(y, ref_depthwise(x, k, b, strides, padding, dilation), rtol=1e-5, atol=1e-5, what="y")
    assert_close(kernels.depthwise_conv2d(x, k, **kw), ref_depthwise(x, k, None, strides, padding, dilation),
                 rtol=1e-5, atol=1e-5, what="y without bias")
    r = rng.standard_normal(y.shape)
    dx, dk, db = kernels.depthwise_conv2d_backward(r.astype(np.float32), x, k, **kw)
    x64, k64 = x.astype(np.float64), k.astype(np.float64)
    f = lambda: (ref_depthwise(x64, k64, None, strides, padding, dilation) * r).sum()  # noqa: E731
    assert_close(dx, numeric_grad(f, x64, eps=1e-4), rtol=1e-4, atol=1e-4, what="dx")
    assert_close(dk, numeric_grad(f, k64, eps=1e-4), rtol=1e-4, atol=1e-4, what="dkernel")
    assert_close(db, r.sum((0, 1, 2)), rtol=1e-5, atol=1e-4, what="dbias")
    none, dk2, _ = kernels.depthwise_conv2d_backward(r.astype(np.float32), x, k, need_dx=False, **kw)
    assert none is None
    assert_close(dk2, dk, rtol=1e-6, atol=1e-6)


def test_threaded_batch_matches_reference(rng):
    x = rng.standard_normal((8, 16, 16, 32)).astype(np.float32)
    k = rng.standard_normal((3, 3, 32, 1)).astype(np.float32)
    y = kernels.depthwise_conv2d(x, k, padding="same")
    assert_close(y, ref_depthwise(x, k, None, (1, 1), "same", (1, 1)), rtol=1e-5, atol=1e-4)
    r = rng.standard_normal(y.shape).astype(np.float32)
    _, dk, _ = kernels.depthwise_conv2d_backward(r, x, k, padding="same")
    # dkernel[a, b, c] = sum over positions of r * x shifted by the tap
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.array([[(xp[:, a:a + 16, b:b + 16] * r).sum((0, 1, 2)) for b in range(3)] for a in range(3)])[..., None]
    assert_close(dk, want, rtol=1e-4, atol=1e-3)


def test_bad_inputs():
    x, k = np.zeros((1, 5, 5, 2), np.float32), np.zeros((3, 3, 3, 1), np.float32)
    with pytest.raises(ValueError, match=r"depthwise_conv2d: x has 2 channels but kernel \(3, 3, 3, 1\) expects 3"):
        kernels.depthwise_conv2d(x, k)
    with pytest.raises(ValueError, match="strides > 1 with dilation_rate > 1"):
        kernels.depthwise_conv2d(x, k[:, :, :2], strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"dilated kernel \(5, 5\) larger than input \(4, 4\)"):
        kernels.depthwise_conv2d(x[:, :4, :4], k[:, :, :2], dilation_rate=2)
    with pytest.raises(ValueError, match=r"depthwise_conv2d: bias must have shape \(2,\)"):
        kernels.depthwise_conv2d(x, k[:, :, :2], np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"depthwise_conv2d_backward: dy must have the forward output's shape"):
        kernels.depthwise_conv2d_backward(np.zeros((1, 5, 5, 2), np.float32), x, k[:, :, :2])
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        kernels.depthwise_conv2d(x, k[:, :, :2], padding="full")

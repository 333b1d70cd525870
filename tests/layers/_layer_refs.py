"""float64 numpy references and a finite-difference gradient check shared by the layer tests."""
import numpy as np

from forgenet.autograd import Tensor, Variable

from support import assert_close, numeric_grad


def same_pads(size, window, stride):
    """Output size and (before, after) padding under TensorFlow's 'same' rule (extra at the end)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2, total - total // 2


def windows(x, window, strides, padding, fill=0.0):
    """x (N,H,W,C) float64 -> (N,Ho,Wo,C,KH,KW) views of each window, padded with `fill` for 'same'."""
    (kh, kw), (sh, sw) = window, strides
    if padding == "same":
        ho, pt, pb = same_pads(x.shape[1], kh, sh)
        wo, pl, pr = same_pads(x.shape[2], kw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    else:
        ho, wo = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    v = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    return v[:, ::sh, ::sw][:, :ho, :wo]


def conv2d_ref(x, kernel, bias=None, strides=(1, 1), padding="valid"):
    v = windows(np.asarray(x, np.float64), kernel.shape[:2], strides, padding)
    y = np.einsum("nhwcij,ijco->nhwo", v, np.asarray(kernel, np.float64))
    return y if bias is None else y + bias


def pool_ref(x, pool_size, strides, padding, kind):
    x = np.asarray(x, np.float64)
    if kind == "max":
        return windows(x, pool_size, strides, padding, fill=-np.inf).max(axis=(-2, -1))
    total = windows(x, pool_size, strides, padding).sum(axis=(-2, -1))
    count = windows(np.ones(x.shape[:3] + (1,)), pool_size, strides, padding).sum(axis=(-2, -1))
    return total / count  # padded positions are not counted (Keras / TensorFlow)


def check_layer_grads(layer, x, rng, rtol=2e-2, atol=2e-3):
    """Autograd grads of sum(layer(x) * w) for x and every trainable weight vs finite differences."""
    xt = Variable(x.copy())
    out = layer(xt)
    assert isinstance(out, Tensor)
    w = rng.standard_normal(out.shape)
    (out * Tensor(w.astype(np.float32))).sum().backward()

    def f():
        return float((np.asarray(layer(x), np.float64) * w).sum())

    assert_close(xt.grad, numeric_grad(f, x), rtol=rtol, atol=atol, what=f"{layer.name}: d/dx")
    for v in layer.trainable_weights:
        assert v.grad is not None, f"{v.name} got no gradient"
        assert_close(v.grad, numeric_grad(f, v.data), rtol=rtol, atol=atol, what=f"d/d{v.name}")

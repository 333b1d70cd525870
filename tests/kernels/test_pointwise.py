"""The fused pointwise kernels (relu_ in place, relu_backward, bias_relu_backward) against float64
references, on both the serial and the threaded paths, with out= (including out=g), and bad input;
and the fused dense node (functional.dense) they serve: forward against float64 and gradients by
central differences, for every combination of bias, relu and frozen inputs."""
import numpy as np
import pytest
from support import assert_close, numeric_grad

import forgenet
from forgenet import functional as F
from forgenet import kernels
from forgenet.autograd.tensor import Tensor, Variable

# above the kernels' threading threshold (2**20 floats) and more than one 256-row block of the sums
BIG = (1100, 1000)


def _gy(shape, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(shape).astype(np.float32)
    y = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)  # a ReLU output: zeros and positives
    return g, y


def _mask64(g, y):
    return np.where(y.astype(np.float64) > 0, g.astype(np.float64), 0.0)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5, 2), (33, 64), BIG])
def test_relu_in_place_matches_float64(shape):
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    want = np.maximum(x.astype(np.float64), 0.0).astype(np.float32)
    assert kernels.relu_(x) is x
    np.testing.assert_array_equal(x, want)


def test_relu_in_place_keeps_nan_and_infinities():
    x = np.array([np.nan, -np.inf, np.inf, -0.0, -1e-38, 3.0], np.float32)
    kernels.relu_(x)
    np.testing.assert_array_equal(x, [np.nan, 0, np.inf, 0, 0, 3.0])


def test_relu_in_place_refuses_what_it_cannot_change():
    with pytest.raises(TypeError, match="relu_: x must be float32, got float64"):
        kernels.relu_(np.ones(3))
    with pytest.raises(ValueError, match="relu_: x must be C-contiguous"):
        kernels.relu_(np.ones((4, 4), np.float32)[:, ::2])
    ro = np.ones(3, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="relu_: x must be writeable"):
        kernels.relu_(ro)
    with pytest.raises(TypeError, match="relu_: x must be a numpy or CuPy array"):
        kernels.relu_([1.0, -1.0])


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5, 2), (33, 64), BIG])
def test_relu_backward_matches_float64(shape):
    g, y = _gy(shape)
    out = kernels.relu_backward(g, y)
    assert out.dtype == np.float32 and out.shape == g.shape
    np.testing.assert_array_equal(out, _mask64(g, y).astype(np.float32))  # a select: exact


def test_relu_backward_nan_and_negative_zero_pass_nothing():
    g = np.ones(4, np.float32)
    y = np.array([np.nan, -0.0, 0.0, 2.0], np.float32)
    np.testing.assert_array_equal(kernels.relu_backward(g, y), [0, 0, 0, 1])


@pytest.mark.parametrize("shape", [(5, 9), BIG])
def test_relu_backward_in_place_into_g(shape):
    g, y = _gy(shape, 1)
    want = _mask64(g, y).astype(np.float32)
    out = kernels.relu_backward(g, y, out=g)
    assert out is g or np.shares_memory(out, g)
    np.testing.assert_array_equal(g, want)


def test_relu_backward_into_a_buffer():
    g, y = _gy((4, 6), 2)
    buf = np.full((4, 6), 7.0, np.float32)
    assert kernels.relu_backward(g, y, out=buf) is buf
    np.testing.assert_array_equal(buf, _mask64(g, y).astype(np.float32))


@pytest.mark.parametrize("shape", [(0, 4), (1, 1), (3, 1), (1, 130), (33, 64), (257, 3), BIG])
@pytest.mark.parametrize("relu", [True, False])
def test_bias_relu_backward_matches_float64(shape, relu):
    g, y = _gy(shape, 3)
    dz, db = kernels.bias_relu_backward(g, y if relu else None, relu=relu)
    want = _mask64(g, y) if relu else g.astype(np.float64)
    assert dz.shape == shape and db.shape == (shape[1],) and db.dtype == np.float32
    np.testing.assert_array_equal(dz, want.astype(np.float32))
    assert_close(db, want.sum(axis=0), rtol=1e-5, atol=1e-4 * max(1, shape[0]) ** 0.5, what=f"db {shape}")


def test_bias_relu_backward_sums_do_not_depend_on_threads():
    g, y = _gy(BIG, 4)
    before = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = kernels.bias_relu_backward(g, y)[1]
        forgenet.set_num_threads(2)
        two = kernels.bias_relu_backward(g, y)[1]
    finally:
        forgenet.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("relu", [True, False])
def test_bias_relu_backward_out_buffers_and_out_g(relu):
    g, y = _gy((6, 5), 5)
    want = (_mask64(g, y) if relu else g.astype(np.float64)).astype(np.float32)
    db_buf = np.empty(5, np.float32)
    dz, db = kernels.bias_relu_backward(g, y if relu else None, relu=relu, out=(g, db_buf))
    assert db is db_buf and np.shares_memory(dz, g)
    np.testing.assert_array_equal(g, want)
    assert_close(db, want.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)
    g2 = _gy((6, 5), 5)[0]
    dz_buf = np.empty_like(g2)
    dz, db = kernels.bias_relu_backward(g2, y if relu else None, relu=relu, out=(dz_buf, None))
    assert dz is dz_buf and db.shape == (5,)


def test_pointwise_bad_input_is_a_clear_error():
    g, y = _gy((4, 3))
    with pytest.raises(ValueError, match=r"relu_backward: y must have shape \(4, 3\)"):
        kernels.relu_backward(g, y[:, :2].copy())
    with pytest.raises(TypeError, match="relu_backward: g must be float32, got float64"):
        kernels.relu_backward(g.astype(np.float64), y)
    with pytest.raises(ValueError, match="relu_backward: out must not share memory with y"):
        kernels.relu_backward(g, y, out=y)
    with pytest.raises(ValueError, match="relu_backward: out must not share memory with g"):
        big = np.zeros(13, np.float32)
        kernels.relu_backward(big[:12], np.ones(12, np.float32), out=big[1:])
    with pytest.raises(ValueError, match="bias_relu_backward: g must have rank 2"):
        kernels.bias_relu_backward(g.ravel(), y.ravel())
    with pytest.raises(ValueError, match="y .* is required when relu=True"):
        forgenet._C.bias_relu_backward(g, None)
    with pytest.raises(ValueError, match="y must be None when relu=False"):
        forgenet._C.bias_relu_backward(g, y, relu=False)
    with pytest.raises(TypeError, match="bias_relu_backward: relu must be a bool"):
        kernels.bias_relu_backward(g, y, relu="yes")
    with pytest.raises(ValueError, match=r"out\[1\] \(the bias gradient\) must have shape \(3,\), got \(4,\)"):
        kernels.bias_relu_backward(g, y, out=(None, np.empty(4, np.float32)))
    with pytest.raises(TypeError, match="forgenet Tensor"):
        kernels.relu_backward(Tensor(g), y)


# ---- the fused dense node ---------------------------------------------------------------------------

def _dense64(x, k, b, relu):
    z = x.astype(np.float64).reshape(-1, x.shape[-1]) @ k.astype(np.float64)
    if b is not None:
        z = z + b.astype(np.float64)
    if relu:
        z = np.maximum(z, 0.0)
    return z.reshape(x.shape[:-1] + (k.shape[1],))


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xshape", [(5, 4), (2, 3, 4), (1, 4)])
def test_dense_forward_and_gradients(relu, bias, xshape):
    for seed in range(7, 100):  # the first data whose pre-activations keep the differences off relu's kink
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(xshape)
        k = rng.standard_normal((4, 3)) * 0.5
        b = rng.standard_normal(3) * 0.5 if bias else None
        if np.abs(_dense64(x, k, b, False)).min() > 2e-2:
            break
    w = rng.standard_normal(xshape[:-1] + (3,))  # a fixed random projection makes the loss scalar

    def loss64():
        return float((_dense64(x, k, b, relu) * w).sum())

    tx, tk = Variable(x.astype(np.float32)), Variable(k.astype(np.float32))
    tb = Variable(b.astype(np.float32)) if bias else None
    y = F.dense(tx, tk, tb, relu=relu)
    assert_close(y.numpy(), _dense64(x, k, b, relu), rtol=1e-5, atol=1e-5, what="forward")
    (y * w.astype(np.float32)).sum().backward()
    assert_close(tx.grad, numeric_grad(loss64, x), rtol=1e-4, atol=1e-4, what="dx")
    assert_close(tk.grad, numeric_grad(loss64, k), rtol=1e-4, atol=1e-4, what="dkernel")
    if bias:
        assert_close(tb.grad, numeric_grad(loss64, b), rtol=1e-4, atol=1e-4, what="dbias")


def test_dense_matches_the_three_separate_ops_bit_for_bit():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((9, 6)).astype(np.float32)
    k, b = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    g = rng.standard_normal((9, 5)).astype(np.float32)
    fused = [Variable(a.copy()) for a in (x, k, b)]
    F.dense(*fused, relu=True).backward(g)
    split = [Variable(a.copy()) for a in (x, k, b)]
    F.relu(F.add(F.matmul(split[0], split[1]), split[2])).backward(g)
    for a, c in zip(fused, split):
        np.testing.assert_array_equal(a.grad, c.grad)


def test_dense_frozen_kernel_and_constant_input_get_no_gradient():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 4)).astype(np.float32)  # a plain array: no gradient wanted
    k = Variable(rng.standard_normal((4, 2)).astype(np.float32), trainable=False)
    b = Variable(np.ones(2, np.float32))
    F.dense(x, k, b, relu=True).sum().backward()
    assert k.grad is None
    assert_close(b.grad, (_dense64(x, k.numpy(), b.numpy(), False) > 0).sum(0), what="dbias")
    b2 = Variable(np.ones(2, np.float32), trainable=False)
    k2 = Variable(k.numpy())
    F.dense(x, k2, b2, relu=False).sum().backward()
    assert b2.grad is None and k2.grad.shape == (4, 2)


def test_dense_bad_shapes():
    with pytest.raises(ValueError, match=r"dense: expected x \(\.\.\., K\) and kernel \(K, N\)"):
        F.dense(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"dense: bias must have shape \(2,\)"):
        F.dense(np.ones((2, 4), np.float32), np.ones((4, 2), np.float32), np.ones(3, np.float32))

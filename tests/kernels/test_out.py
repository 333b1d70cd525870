"""out= on every kernel: the caller's buffer goes down to the C++ kernel and is written in place (the
very array is returned, not a copy), with the same values as a fresh result; a buffer of the wrong
dtype, shape, layout or mutability, or one sharing memory with an input, is refused by the op's
contract naming the op and the buffer."""
import numpy as np
import pytest

import forgenet.kernels as K

rng = np.random.default_rng(0)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def _nan_like(r):
    return tuple(None if a is None else np.full_like(a, np.nan) for a in r) if isinstance(r, tuple) else np.full_like(r, np.nan)


x4, k4, b = f32(2, 6, 5, 3), f32(3, 3, 3, 4), f32(4)
q, kk, v = f32(1, 2, 5, 8), f32(1, 2, 7, 8), f32(1, 2, 7, 6)
lstm_args = (f32(2, 3, 4), f32(2, 5), f32(2, 5), f32(4, 20), f32(5, 20), f32(20))
ln_x, ln_g, ln_b = f32(3, 7), f32(7), f32(7)
gru_args = (f32(2, 3, 4), f32(2, 5), f32(4, 15), f32(5, 15), f32(2, 15))
rnn_args = (f32(2, 3, 4), f32(2, 5), f32(4, 5), f32(5, 5), f32(5))
_, _, gru_reserve = K.gru(*gru_args, training=True)
_, _, rnn_reserve = K.simple_rnn(*rnn_args, training=True)
bn_x, bn_c = f32(4, 3, 5), f32(3)
dw_x, dw_k = f32(2, 5, 6, 3), f32(3, 3, 3, 2)
g_dy, g_dh, g_b1, bn_dy, dw_b, dw_dy = f32(2, 3, 5), f32(2, 5), f32(15), f32(4, 3, 5), f32(6), f32(2, 2, 2, 6)
CALLS = {
    "gemm": lambda out=None: K.gemm(f32(3, 4) * 0 + 1, np.arange(8, dtype=np.float32).reshape(4, 2), out=out),
    "softmax": lambda out=None: K.softmax(ln_x, out=out),
    "softmax_backward": lambda out=None: K.softmax_backward(ln_x, K.softmax(ln_x), out=out),
    "softmax_cross_entropy": lambda out=None: K.softmax_cross_entropy(ln_x, np.array([0, 6, 2]), out=out),
    "conv2d": lambda out=None: K.conv2d(x4, k4, b, padding="same", out=out),
    "conv2d_backward": lambda out=None: K.conv2d_backward(np.ones((2, 6, 5, 4), np.float32), x4, k4, padding="same", out=out),
    "max_pool2d": lambda out=None: K.max_pool2d(x4, 2, 1, "same", out=out),
    "avg_pool2d_backward": lambda out=None: K.avg_pool2d_backward(np.ones((2, 3, 2, 3), np.float32), x4, out=out),
    "attention": lambda out=None: K.attention(q, kk, v, causal=True, return_lse=True, out=out),
    "layer_norm": lambda out=None: K.layer_norm(ln_x, ln_g, ln_b, out=out),
    "embedding": lambda out=None: K.embedding(np.array([[1, 0], [2, 2]]), f32(3, 4) * 0 + 2, out=out),
    "embedding_backward": lambda out=None: K.embedding_backward(np.ones((2, 2, 4), np.float32), np.array([[1, 0], [2, 2]]), 3, out=out),
    "lstm": lambda out=None: K.lstm(*lstm_args, training=True, out=out),
    "gru": lambda out=None: K.gru(*gru_args, training=True, out=out),
    "gru_backward": lambda out=None: K.gru_backward(g_dy, g_dh, *gru_args, gru_reserve, out=out),
    "gru_reset_before": lambda out=None: K.gru(*gru_args[:4], g_b1, reset_after=False, out=out),
    "simple_rnn": lambda out=None: K.simple_rnn(*rnn_args, activation="relu", training=True, out=out),
    "simple_rnn_backward": lambda out=None: K.simple_rnn_backward(None, g_dh, *rnn_args, rnn_reserve, out=out),
    "batch_norm": lambda out=None: K.batch_norm(bn_x, bn_c, None, axis=1, out=out),
    "batch_norm_inference": lambda out=None: K.batch_norm_inference(bn_x, None, bn_c, bn_c, bn_c * bn_c, axis=1, out=out),
    "batch_norm_backward": lambda out=None: K.batch_norm_backward(bn_dy, bn_x, bn_c, bn_c, bn_c * bn_c, axis=1,
                                                                  out=out),
    "depthwise_conv2d": lambda out=None: K.depthwise_conv2d(dw_x, dw_k, dw_b, padding="same", dilation_rate=2, out=out),
    "depthwise_conv2d_backward": lambda out=None: K.depthwise_conv2d_backward(dw_dy, dw_x, dw_k, strides=2,
                                                                              out=out),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_out_is_written_in_place(name):
    call = CALLS[name]
    fresh = call()
    out = _nan_like(fresh)
    got = call(out=out)
    got_t, out_t, fresh_t = (t if isinstance(t, tuple) else (t,) for t in (got, out, fresh))
    for g, o, f in zip(got_t, out_t, fresh_t):
        assert g is o, f"{name}: the result is not the out= buffer itself"
        np.testing.assert_array_equal(o, f, err_msg=name)


def test_partial_out_tuple_allocates_the_rest():
    y = np.empty((3, 7), np.float32)
    r = K.layer_norm(ln_x, None, None, out=(y, None, None))
    assert r[0] is y and r[1].shape == (3,)


def test_gemm_out_may_be_c():
    a, bm = f32(3, 4), f32(4, 2)
    c = f32(3, 2)
    want = 2.0 * (a @ bm) + 0.5 * c  # noqa: reference only (the library itself never uses @)
    got = K.gemm(a, bm, c, alpha=2.0, beta=0.5, out=c)
    assert got is c
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad, pattern", [
    (np.zeros((3, 7), np.float64), r"^softmax: out must be float32, got float64$"),
    (np.zeros((3, 6), np.float32), r"^softmax: out must have shape \(3, 7\), got \(3, 6\)$"),
    (np.zeros((7, 3), np.float32).T, r"^softmax: out must be C-contiguous$"),
    ([[0.0] * 7] * 3, r"^softmax: out must be a numpy array, got list$"),
])
def test_bad_out_refused(bad, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        K.softmax(ln_x, out=bad)


def test_read_only_and_overlapping_out_refused():
    ro = np.zeros((3, 7), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^softmax: out must be writeable$"):
        K.softmax(ln_x, out=ro)
    x = f32(3, 7)
    with pytest.raises(ValueError, match=r"^softmax: out must not share memory with x"):
        K.softmax(x, out=x)
    with pytest.raises(ValueError, match=r"^lstm: out\[1\] \(h_T\) must have shape \(2, 5\), got \(3, 5\)$"):
        K.lstm(*lstm_args, out=(None, np.zeros((3, 5), np.float32), None))
    with pytest.raises(ValueError, match=r"^lstm: out must be a tuple of 3 arrays"):
        K.lstm(*lstm_args, out=np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"^conv2d_backward: out\[0\] \(dx\) must be None when need_dx=False$"):
        K.conv2d_backward(np.ones((2, 6, 5, 4), np.float32), x4, k4, padding="same", need_dx=False,
                          out=(np.zeros_like(x4), None, None))
    with pytest.raises(ValueError, match=r"^conv2d_backward: out\[2\] \(dbias\) must be None when need_db=False$"):
        K.conv2d_backward(np.ones((2, 6, 5, 4), np.float32), x4, k4, padding="same", need_db=False,
                          out=(None, None, np.zeros(4, np.float32)))
    with pytest.raises(ValueError, match=r"^softmax: out= needs axis=-1"):
        K.softmax(ln_x, axis=0, out=np.zeros((3, 7), np.float32))


def test_new_families_refuse_bad_out():
    with pytest.raises(ValueError, match=r"^gru: out\[1\] \(h_T\) must have shape \(2, 5\), got \(5, 2\)$"):
        K.gru(*gru_args, out=(None, np.zeros((5, 2), np.float32)))
    with pytest.raises(ValueError, match=r"^simple_rnn: out must be a tuple of 3 arrays"):
        K.simple_rnn(*rnn_args, training=True, out=(None, None))
    with pytest.raises(ValueError, match=r"^batch_norm_inference: out must not share memory with x"):
        K.batch_norm_inference(bn_x, None, None, bn_c, bn_c, axis=1, out=bn_x)
    with pytest.raises(TypeError, match=r"^gru_backward: out\[4\] \(dbias\) must be float32, got float64$"):
        K.gru_backward(None, None, *gru_args, gru_reserve, out=(None,) * 4 + (np.zeros((2, 15)),))
    with pytest.raises(ValueError, match=r"^depthwise_conv2d_backward: out\[0\] \(dx\) must be None when need_dx=False$"):
        K.depthwise_conv2d_backward(f32(2, 3, 4, 6), dw_x, dw_k, need_dx=False, out=(np.zeros_like(dw_x), None, None))
    ro = np.zeros(3, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^batch_norm: out\[1\] \(mean\) must be writeable$"):
        K.batch_norm(bn_x, None, None, axis=1, out=(None, ro, None))

"""The emulated forgenet._cuda GRU and SimpleRNN ops (csrc/cuda/gru.cu, simple_rnn.cu through
csrc/bindings/cuda/bind_gru.cpp) against forgenet._C, called positionally exactly as
python/forgenet/kernels/gru.py and simple_rnn.py call them; each device's backward also consumes the
other's reserve."""
import numpy as np
import pytest

from emu_support import D, host, same
from forgenet import _C

SHAPES = [(1, 1, 3, 7), (2, 5, 4, 33), (3, 1, 1, 16), (1, 9, 5, 1), (4, 3, 6, 70), (2, 0, 3, 4), (0, 3, 3, 4)]


def make(rng, N, T, Din, U, reset_after=True, scale=0.5):
    f32 = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    return f32(N, T, Din), f32(N, U), f32(Din, 3 * U), f32(U, 3 * U), f32(2, 3 * U) if reset_after else f32(3 * U)


def opt(a):
    return None if a is None else D(a)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("N,T,Din,U", SHAPES)
@pytest.mark.parametrize("grads", ["all", "dy_only", "state_only"])
def test_gru_matches_cpu(ops, rng, N, T, Din, U, reset_after, grads):
    args = make(rng, N, T, Din, U, reset_after)
    dargs = [D(a) for a in args]
    want = _C.gru(*args, reset_after, True)
    got = host(ops.gru(*dargs, reset_after, True))
    assert [g.shape for g in got] == [w.shape for w in want]
    same("gru", got, want, rtol=1e-5, atol=2e-6)
    same("gru inference", host(ops.gru(*dargs, reset_after, False)), want[:2], rtol=1e-5, atol=2e-6)
    y, h, reserve = want
    dy = None if grads == "state_only" else rng.standard_normal(y.shape).astype(np.float32)
    dh = None if grads == "dy_only" else rng.standard_normal(h.shape).astype(np.float32)
    want_b = _C.gru_backward(dy, dh, *args, reserve, reset_after)
    same("gru_backward (CPU reserve)", host(ops.gru_backward(opt(dy), opt(dh), *dargs, D(reserve), reset_after)),
         want_b, rtol=1e-4, atol=1e-5)
    same("gru_backward (own reserve)", host(ops.gru_backward(opt(dy), opt(dh), *dargs, D(got[2]), reset_after)),
         want_b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("N,T,Din,U", SHAPES)
def test_simple_rnn_matches_cpu(ops, rng, N, T, Din, U, activation):
    f32 = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)  # noqa: E731
    args = (f32(N, T, Din), f32(N, U), f32(Din, U), f32(U, U), f32(U))
    dargs = [D(a) for a in args]
    want = _C.simple_rnn(*args, activation, True)
    got = host(ops.simple_rnn(*dargs, activation, True))
    same("simple_rnn", got, want, rtol=1e-5, atol=2e-6)
    same("simple_rnn inference", host(ops.simple_rnn(*dargs, activation, False)), want[:2], rtol=1e-5, atol=2e-6)
    dy = rng.standard_normal(want[0].shape).astype(np.float32)
    dh = rng.standard_normal(want[1].shape).astype(np.float32)
    want_b = _C.simple_rnn_backward(dy, dh, *args, want[2], activation)
    same("simple_rnn_backward", host(ops.simple_rnn_backward(D(dy), D(dh), *dargs, D(got[2]), activation)), want_b,
         rtol=1e-4, atol=1e-5)


def test_gru_rejects_bad_inputs_like_cpu(ops, rng):
    x, h0, W, R, b = make(rng, 2, 3, 4, 5)
    cases = [
        ((x, h0[:1], W, R, b), ValueError, r"gru: h0 must have shape \(2, 5\) \(batch, units\), got \(1, 5\)"),
        ((x, h0, W[:3], R, b), ValueError, r"gru: kernel must have shape \(4, 15\) for x \(2, 3, 4\) and units=5"),
        ((x, h0, W, R[:, :14], b), ValueError, r"gru: recurrent_kernel must have shape \(units, 3\*units\)"),
        ((x, h0, W, R, b[:1]), ValueError, r"gru: bias must have shape \(2, 15\) for units=5 with reset_after=True"),
        ((x.astype(np.float64), h0, W, R, b), TypeError, "gru: x must be float32, got float64"),
    ]
    for a, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            ops.gru(*[D(v) for v in a])
        with pytest.raises(exc, match=msg):
            _C.gru(*[np.ascontiguousarray(v) for v in a])
    y, h, reserve = _C.gru(x, h0, W, R, b, True, True)
    msg = r"gru_backward: reserve must have shape \(2, 3, 25\) \(batch, steps, 5\*units\)"
    with pytest.raises(ValueError, match=msg):
        ops.gru_backward(D(y), D(h), D(x), D(h0), D(W), D(R), D(b), D(reserve[:, :, :20].copy()))
    with pytest.raises(ValueError, match="simple_rnn: activation must be 'tanh', 'relu', 'sigmoid' or 'linear'"):
        ops.simple_rnn(D(x), D(h0), D(W[:, :5].copy()), D(R[:, :5].copy()), D(b[0, :5].copy()), "elu")
    with pytest.raises(TypeError, match="gru: recurrent_kernel must be a GPU array"):
        ops.gru(D(x), D(h0), D(W), R, D(b))

"""The emulated forgenet._cuda LSTM ops (csrc/cuda/lstm.cu through csrc/bindings/cuda/bind_lstm.cpp) against
forgenet._C.lstm / lstm_backward, called positionally exactly as python/forgenet/kernels/lstm.py calls them.
"""
import numpy as np
import pytest

from emu_support import D, alloc, host, same
from forgenet import _C

SHAPES = [(1, 1, 3, 7), (2, 5, 4, 33), (3, 1, 1, 16), (1, 9, 5, 1), (4, 3, 6, 70), (2, 0, 3, 4), (0, 3, 3, 4)]


def make(rng, N, T, Din, U, scale=0.5):
    f32 = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    return f32(N, T, Din), f32(N, U), f32(N, U), f32(Din, 4 * U), f32(U, 4 * U), f32(4 * U)


@pytest.mark.parametrize("N,T,Din,U", SHAPES)
@pytest.mark.parametrize("grads", ["all", "dy_only", "state_only"])
def test_lstm_matches_cpu(ops, rng, N, T, Din, U, grads):
    args = make(rng, N, T, Din, U)
    dargs = [D(a) for a in args]
    want = _C.lstm(*args, True)
    got = host(ops.lstm(*dargs, True))
    assert [g.shape for g in got] == [w.shape for w in want]
    same("lstm", got, want, rtol=1e-5, atol=2e-6)
    same("lstm inference", host(ops.lstm(*dargs, False)), want[:3], rtol=1e-5, atol=2e-6)

    y, h, c, reserve = want
    dy = None if grads == "state_only" else rng.standard_normal(y.shape).astype(np.float32)
    dh = None if grads == "dy_only" else rng.standard_normal(h.shape).astype(np.float32)
    dc = None if grads == "dy_only" else rng.standard_normal(c.shape).astype(np.float32)
    d = lambda a: None if a is None else D(a)  # noqa: E731
    want_b = _C.lstm_backward(dy, dh, dc, *args, reserve)
    # the CPU's reserve on the GPU side: both devices share its layout
    got_b = host(ops.lstm_backward(d(dy), d(dh), d(dc), *dargs, D(reserve)))
    same("lstm_backward", got_b, want_b, rtol=1e-4, atol=1e-5)
    # and the GPU's own reserve
    got_b2 = host(ops.lstm_backward(d(dy), d(dh), d(dc), *dargs, D(got[3])))
    same("lstm_backward (own reserve)", got_b2, want_b, rtol=1e-4, atol=1e-5)


def test_nan_flows_like_cpu(ops, rng):
    args = make(rng, 2, 3, 4, 5)
    args[0][0, 1, 2] = np.nan
    y = host(ops.lstm(*[D(a) for a in args]))[0]
    np.testing.assert_array_equal(np.isnan(y), np.isnan(_C.lstm(*args)[0]))
    assert np.isnan(y[0, 1:]).all() and np.isfinite(y[1]).all()


def test_activations_match_cpu(emu):
    x = np.concatenate([np.linspace(-90, 90, 2001), [0.0, 1e-30, -1e-30, np.nan, np.inf, -np.inf]]).astype(np.float32)
    got = host(emu.module._lstm_activations(D(x), stream=0, alloc=alloc))
    same("_lstm_activations", got, _C._lstm_activations(x), rtol=2e-6, atol=1e-7)


def _bad_cases(rng):
    x, h0, c0, W, R, b = make(rng, 2, 3, 4, 5)
    return [
        ((x, h0[:1], c0, W, R, b), ValueError, r"lstm: h0 must have shape \(2, 5\) \(batch, units\), got \(1, 5\)"),
        ((x, h0, c0[:, :4], W, R, b), ValueError, r"lstm: c0 must have shape \(2, 5\) \(batch, units\), got \(2, 4\)"),
        ((x, h0, c0, W[:3], R, b), ValueError,
         r"lstm: kernel must have shape \(4, 20\) for x \(2, 3, 4\) and units=5, got \(3, 20\)"),
        ((x, h0, c0, W, R[:, :19], b), ValueError,
         r"lstm: recurrent_kernel must have shape \(units, 4\*units\), got \(5, 19\)"),
        ((x, h0, c0, W, R, b[:-1]), ValueError, r"lstm: bias must have shape \(20,\) for units=5, got \(19,\)"),
        ((x[0], h0, c0, W, R, b), ValueError, r"lstm: x must have rank 3, got shape \(3, 4\)"),
        ((x, h0[0], c0, W, R, b), ValueError, r"lstm: h0 must have rank 2, got shape \(5,\)"),
        ((x, h0, c0, W, R, b[None]), ValueError, r"lstm: bias must have rank 1, got shape \(1, 20\)"),
        ((x.astype(np.float64), h0, c0, W, R, b), TypeError, "lstm: x must be float32, got float64"),
        ((x, h0, c0, W.astype(np.float16), R, b), TypeError, "lstm: kernel must be float32, got float16"),
    ]


def test_lstm_rejects_bad_inputs_like_cpu(ops, rng):
    for args, exc, msg in _bad_cases(rng):
        with pytest.raises(exc, match=msg):
            ops.lstm(*[D(a) for a in args])
        with pytest.raises(exc, match=msg):
            _C.lstm(*[np.ascontiguousarray(a) for a in args])
    x, h0, c0, W, R, b = make(rng, 2, 3, 4, 5)
    with pytest.raises(TypeError, match="lstm: recurrent_kernel must be a GPU array"):
        ops.lstm(D(x), D(h0), D(c0), D(W), R, D(b))


def test_lstm_backward_rejects_bad_inputs_like_cpu(ops, rng):
    args = make(rng, 2, 3, 4, 5)
    y, h, c, reserve = _C.lstm(*args, True)
    cases = [
        ((y, h, c, *args, reserve[:, :, :20]),
         r"lstm_backward: reserve must have shape \(2, 3, 25\) \(batch, steps, 5\*units\) as returned by lstm"),
        ((y, h, c, *args, reserve[:1]), r"lstm_backward: reserve must have shape \(2, 3, 25\)"),
        ((y[:, :2], h, c, *args, reserve), r"lstm_backward: dy must have shape \(2, 3, 5\), got \(2, 2, 5\)"),
        ((y, h[:, :3], c, *args, reserve), r"lstm_backward: dh_T must have shape \(2, 5\), got \(2, 3\)"),
        ((None, None, c[0], *args, reserve), r"lstm_backward: dc_T must have rank 2, got shape \(5,\)"),
    ]
    for a, msg in cases:
        with pytest.raises(ValueError, match=msg):
            ops.lstm_backward(*[None if v is None else D(v) for v in a])
        with pytest.raises(ValueError, match=msg):
            _C.lstm_backward(*[None if v is None else np.ascontiguousarray(v) for v in a])
    for args_bad, exc, msg in _bad_cases(rng):
        with pytest.raises(exc, match=msg.replace("lstm:", "lstm_backward:")):
            ops.lstm_backward(None, None, None, *[D(a) for a in args_bad], D(reserve))
    with pytest.raises(TypeError, match="lstm_backward: dy must be a GPU array"):
        ops.lstm_backward(y, None, None, *[D(a) for a in args], D(reserve))

import os
import subprocess
import sys

import numpy as np
import pytest

from forgenet import _C, kernels

from support import assert_close


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def ref_lstm(x, h0, c0, W, R, b):
    """Plain float64 LSTM (Keras gate order i, f, c, o); returns y, h_T, c_T and the per-step cache."""
    x, h, c, W, R, b = (np.asarray(a, np.float64) for a in (x, h0, c0, W, R, b))
    N, T, _ = x.shape
    U = R.shape[0]
    ys, cache = np.zeros((N, T, U)), []
    for t in range(T):
        z = x[:, t] @ W + h @ R + b
        i, f, g, o = sigmoid(z[:, :U]), sigmoid(z[:, U:2 * U]), np.tanh(z[:, 2 * U:3 * U]), sigmoid(z[:, 3 * U:])
        cache.append((h, c, i, f, g, o))
        c = f * c + i * g
        h = o * np.tanh(c)
        ys[:, t] = h
    return ys, h, c, cache


def ref_lstm_backward(dy, dh, dc, x, h0, c0, W, R, b):
    """Backward through time written out step by step, independently of the C++ structure."""
    x = np.asarray(x, np.float64)
    ys, hT, cT, cache = ref_lstm(x, h0, c0, W, R, b)
    N, T, D = x.shape
    U = R.shape[0]
    dh = np.zeros((N, U)) if dh is None else np.asarray(dh, np.float64).copy()
    dc = np.zeros((N, U)) if dc is None else np.asarray(dc, np.float64).copy()
    dx, dW, dR, db = np.zeros_like(x), np.zeros(W.shape), np.zeros(R.shape), np.zeros(b.shape)
    for t in reversed(range(T)):
        h_prev, c_prev, i, f, g, o = cache[t]
        c = f * c_prev + i * g
        if dy is not None:
            dh = dh + dy[:, t]
        tc = np.tanh(c)
        dc = dc + dh * o * (1 - tc ** 2)
        dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                             dh * tc * o * (1 - o)], axis=1)
        dx[:, t] = dz @ W.T
        dW += x[:, t].T @ dz
        dR += h_prev.T @ dz
        db += dz.sum(0)
        dh = dz @ R.T
        dc = dc * f
    return dx, dh, dc, dW, dR, db


def make(rng, N, T, D, U, scale=0.5):
    f32 = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    return f32(N, T, D), f32(N, U), f32(N, U), f32(D, 4 * U), f32(U, 4 * U), f32(4 * U)


SHAPES = [(1, 1, 3, 7), (2, 5, 4, 33), (3, 1, 1, 16), (4, 7, 6, 7), (1, 9, 5, 1), (5, 3, 17, 20)]
NAMES = ["dx", "dh0", "dc0", "dkernel", "drecurrent_kernel", "dbias"]


@pytest.mark.parametrize("N,T,D,U", SHAPES)
def test_forward_matches_numpy_reference(rng, N, T, D, U):
    args = make(rng, N, T, D, U)
    y, h, c = kernels.lstm(*args)
    ry, rh, rc, _ = ref_lstm(*args)
    assert_close(y, ry, rtol=1e-4, atol=1e-5, what="y")
    assert_close(h, rh, rtol=1e-4, atol=1e-5, what="h_T")
    assert_close(c, rc, rtol=1e-4, atol=1e-5, what="c_T")


@pytest.mark.parametrize("N,T,D,U", SHAPES)
@pytest.mark.parametrize("grads", ["all", "dy_only", "state_only", "dh_only"])
def test_backward_matches_numpy_reference(rng, N, T, D, U, grads):
    args = make(rng, N, T, D, U)
    y, h, c, reserve = kernels.lstm(*args, training=True)
    assert reserve.shape == (N, T, 5 * U) and reserve.dtype == np.float32
    dy = None if grads in ("state_only", "dh_only") else rng.standard_normal(y.shape).astype(np.float32)
    dh = None if grads == "dy_only" else rng.standard_normal(h.shape).astype(np.float32)
    dc = None if grads in ("dy_only", "dh_only") else rng.standard_normal(c.shape).astype(np.float32)
    got = kernels.lstm_backward(dy, dh, dc, *args, reserve)
    want = ref_lstm_backward(dy, dh, dc, *args)
    for name, g, w in zip(NAMES, got, want):
        assert_close(g, w, rtol=1e-4, atol=1e-5, what=name)


@pytest.mark.parametrize("N,T,D,U", [(1, 1, 3, 7), (2, 6, 5, 33), (3, 4, 8, 16)])
def test_forward_and_backward_match_torch(rng, N, T, D, U):
    torch = pytest.importorskip("torch")
    x, h0, c0, W, R, b = make(rng, N, T, D, U)
    net = torch.nn.LSTM(D, U, batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(W.T.astype(np.float64)))
        net.weight_hh_l0.copy_(torch.from_numpy(R.T.astype(np.float64)))
        net.bias_ih_l0.copy_(torch.from_numpy(b.astype(np.float64)) * 0.25)  # torch has two biases,
        net.bias_hh_l0.copy_(torch.from_numpy(b.astype(np.float64)) * 0.75)  # we have their sum
    tx, th, tc = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, h0[None], c0[None]))
    ty, (thT, tcT) = net(tx, (th, tc))
    y, h, c, reserve = kernels.lstm(x, h0, c0, W, R, b, training=True)
    assert_close(y, ty.detach().numpy(), rtol=1e-4, atol=1e-5, what="y")
    assert_close(h, thT[0].detach().numpy(), rtol=1e-4, atol=1e-5, what="h_T")
    assert_close(c, tcT[0].detach().numpy(), rtol=1e-4, atol=1e-5, what="c_T")

    dy, dh, dc = (rng.standard_normal(a.shape).astype(np.float32) for a in (y, h, c))
    loss = (ty * torch.from_numpy(dy.astype(np.float64))).sum() \
        + (thT[0] * torch.from_numpy(dh.astype(np.float64))).sum() \
        + (tcT[0] * torch.from_numpy(dc.astype(np.float64))).sum()
    loss.backward()
    dx, dh0, dc0, dW, dR, db = kernels.lstm_backward(dy, dh, dc, x, h0, c0, W, R, b, reserve)
    assert_close(dx, tx.grad.numpy(), rtol=1e-4, atol=1e-5, what="dx")
    assert_close(dh0, th.grad[0].numpy(), rtol=1e-4, atol=1e-5, what="dh0")
    assert_close(dc0, tc.grad[0].numpy(), rtol=1e-4, atol=1e-5, what="dc0")
    assert_close(dW, net.weight_ih_l0.grad.numpy().T, rtol=1e-4, atol=1e-5, what="dkernel")
    assert_close(dR, net.weight_hh_l0.grad.numpy().T, rtol=1e-4, atol=1e-5, what="drecurrent_kernel")
    assert_close(db, net.bias_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-5, what="dbias")


def test_backward_matches_finite_differences(rng):
    N, T, D, U = 2, 3, 2, 3
    args64 = [a.astype(np.float64) for a in make(rng, N, T, D, U, scale=0.8)]
    dy = rng.standard_normal((N, T, U))
    dh = rng.standard_normal((N, U))
    dc = rng.standard_normal((N, U))

    def loss(a):
        y, h, c, _ = ref_lstm(*a)
        return (y * dy).sum() + (h * dh).sum() + (c * dc).sum()

    args32 = [a.astype(np.float32) for a in args64]
    reserve = kernels.lstm(*args32, training=True)[3]
    got = kernels.lstm_backward(dy.astype(np.float32), dh.astype(np.float32), dc.astype(np.float32), *args32, reserve)
    # gradients w.r.t. x, h0, c0, kernel, recurrent_kernel, bias (argument order of lstm)
    for k, (name, g) in enumerate(zip(NAMES, got)):
        num = np.zeros_like(args64[k])
        for idx in np.ndindex(*num.shape):
            plus = [a.copy() for a in args64]
            minus = [a.copy() for a in args64]
            plus[k][idx] += 1e-6
            minus[k][idx] -= 1e-6
            num[idx] = (loss(plus) - loss(minus)) / 2e-6
        assert_close(g, num, rtol=1e-3, atol=1e-5, what=name)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("N,U", [(32, 130), (6, 260)])
def test_threaded_time_loop_matches_reference(rng, threads, N, U):
    """Big enough steps split the time loop over threads: by samples (32 rows: 16+16 or 8+16+8) or,
    for a small batch, by units with a barrier per step (260 units: 128+132 or 80+96+84). Every
    split must give the reference result."""
    import forgenet

    T, D = 3, 5
    args = make(rng, N, T, D, U, scale=0.3)
    before = forgenet.get_num_threads()
    forgenet.set_num_threads(threads)
    try:
        y, h, c, reserve = kernels.lstm(*args, training=True)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dc = rng.standard_normal(c.shape).astype(np.float32)
        got = kernels.lstm_backward(dy, None, dc, *args, reserve)
    finally:
        forgenet.set_num_threads(before)
    ry, rh, rc, _ = ref_lstm(*args)
    assert_close(y, ry, rtol=1e-4, atol=1e-5, what="y")
    assert_close(c, rc, rtol=1e-4, atol=1e-5, what="c_T")
    for name, g, w in zip(NAMES, got, ref_lstm_backward(dy, None, dc, *args)):
        assert_close(g, w, rtol=1e-4, atol=1e-5, what=name)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("N,T,D,U,dy_all",
                         [(27, 1, 3, 130, True), (19, 4, 0, 129, False), (41, 3, 9, 100, True),
                          (33, 2, 8, 131, False)])
def test_row_split_fused_gradients_match_reference(rng, threads, N, T, D, U, dy_all):
    """Split by samples, each thread computes dx, its partial weight gradients and the input projection
    of its own rows inside the loop's region, then the partials are summed: batches that do not split
    into whole tiles, one step, no input features, and dy for every step or only dh_T. Called twice,
    so the second call reuses the scratch arena the first left (its contents must not leak in)."""
    import forgenet

    args = make(rng, N, T, D, U, scale=0.3)
    before = forgenet.get_num_threads()
    forgenet.set_num_threads(threads)
    try:
        for _ in range(2):
            y, h, c, reserve = kernels.lstm(*args, training=True)
            dy = rng.standard_normal(y.shape).astype(np.float32) if dy_all else None
            dh = rng.standard_normal(h.shape).astype(np.float32)
            got = kernels.lstm_backward(dy, dh, None, *args, reserve)
            ry, rh, rc, _ = ref_lstm(*args)
            assert_close(y, ry, rtol=1e-4, atol=1e-5, what="y")
            assert_close(h, rh, rtol=1e-4, atol=1e-5, what="h_T")
            for name, g, w in zip(NAMES, got, ref_lstm_backward(dy, dh, None, *args)):
                assert_close(g, w, rtol=1e-4, atol=1e-5, what=name)
    finally:
        forgenet.set_num_threads(before)


def test_training_and_inference_agree_and_state_is_last_step(rng):
    args = make(rng, 3, 4, 5, 9)
    y, h, c = kernels.lstm(*args)
    y2, h2, c2, reserve = kernels.lstm(*args, training=True)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(h, y[:, -1])
    np.testing.assert_array_equal(c, reserve[:, -1, 4 * 9:])
    np.testing.assert_array_equal(c, c2)


def test_activations_are_accurate():
    """The vectorised sigmoid/tanh must be within ~1e-6 relative of float64 over the whole range."""
    x = np.concatenate([np.linspace(-90, 90, 200001), np.geomspace(1e-30, 90, 20001),
                        -np.geomspace(1e-30, 90, 20001), [0.0]]).astype(np.float32)
    s, t = _C._lstm_activations(x)
    xd = x.astype(np.float64)
    for got, want in ((s, 1 / (1 + np.exp(-xd))), (t, np.tanh(xd))):
        m = np.abs(want) > 1e-30
        assert np.max(np.abs(got[m] - want[m]) / np.abs(want[m])) < 1e-6
    s, t = _C._lstm_activations(np.array([np.nan, np.inf, -np.inf], np.float32))
    assert np.isnan(s[0]) and np.isnan(t[0]) and s[1] == 1 and t[1] == 1 and t[2] == -1 and s[2] < 1e-37


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_other_isa_paths_agree(isa):
    """Each ISA's pointwise pass (FORGENET_ISA caps the choice, read once per process)."""
    code = ("import numpy as np, forgenet\n"
            "from forgenet import kernels\n"
            "r = np.random.default_rng(1)\n"
            "a = [r.standard_normal(s).astype(np.float32) for s in [(3,4,5),(3,19),(3,19),(5,76),(19,76),(76,)]]\n"
            "y, h, c, res = kernels.lstm(*a, training=True)\n"
            "g = kernels.lstm_backward(r.standard_normal(y.shape).astype(np.float32), None, None, *a, res)\n"
            "np.savez(__import__('sys').argv[1], y=y, *g)\n")
    outs = []
    for cap in (isa, "avx512"):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"forgenet_lstm_{cap}_{os.getpid()}.npz")
        subprocess.run([sys.executable, "-c", code, path], check=True, env={**os.environ, "FORGENET_ISA": cap})
        with np.load(path) as f:
            outs.append({k: f[k] for k in f.files})
        os.remove(path)
    for k in outs[0]:
        assert_close(outs[0][k], outs[1][k], rtol=1e-5, atol=1e-6, what=k)


def test_empty_sizes(rng):
    x, h0, c0, W, R, b = make(rng, 2, 0, 3, 4)
    y, h, c, reserve = kernels.lstm(x, h0, c0, W, R, b, training=True)
    assert y.shape == (2, 0, 4) and reserve.shape == (2, 0, 20)
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)
    dh = rng.standard_normal(h.shape).astype(np.float32)
    dx, dh0, dc0, dW, dR, db = kernels.lstm_backward(None, dh, None, x, h0, c0, W, R, b, reserve)
    np.testing.assert_array_equal(dh0, dh)
    assert not dc0.any() and not dW.any() and not dR.any() and not db.any()
    args = make(rng, 0, 3, 3, 4)
    y, h, c, reserve = kernels.lstm(*args, training=True)
    assert y.shape == (0, 3, 4)
    grads = kernels.lstm_backward(None, None, None, *args, reserve)
    assert grads[0].shape == (0, 3, 3) and not grads[3].any()


def test_nan_flows_through_without_crash(rng):
    x, h0, c0, W, R, b = make(rng, 2, 3, 4, 5)
    x[0, 1, 2] = np.nan
    y, h, c = kernels.lstm(x, h0, c0, W, R, b)
    assert np.isnan(y[0, 1:]).all() and np.isfinite(y[1]).all() and np.isfinite(y[0, 0]).all()


def test_non_contiguous_inputs_are_copied(rng):
    x, h0, c0, W, R, b = make(rng, 2, 3, 4, 5)
    xt = np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2)
    np.testing.assert_array_equal(kernels.lstm(xt, h0, c0, W, R, b)[0], kernels.lstm(x, h0, c0, W, R, b)[0])
    with pytest.raises(ValueError, match="lstm: x must be C-contiguous"):
        _C.lstm(xt, h0, c0, W, R, b)


def _bad_cases(rng):
    x, h0, c0, W, R, b = make(rng, 2, 3, 4, 5)
    return [
        ((x, h0[:1], c0, W, R, b), ValueError, r"lstm: h0 must have shape \(2, 5\) \(batch, units\), got \(1, 5\)"),
        ((x, h0, c0[:, :4], W, R, b), ValueError, r"lstm: c0 must have shape \(2, 5\) \(batch, units\), got \(2, 4\)"),
        ((x, h0, c0, W[:3], R, b), ValueError, r"lstm: kernel must have shape \(4, 20\) for x \(2, 3, 4\) and units=5, got \(3, 20\)"),
        ((x, h0, c0, W, R[:, :19], b), ValueError, r"lstm: recurrent_kernel must have shape \(units, 4\*units\), got \(5, 19\)"),
        ((x, h0, c0, W, R, b[:-1]), ValueError, r"lstm: bias must have shape \(20,\) for units=5, got \(19,\)"),
        ((x[0], h0, c0, W, R, b), ValueError, r"lstm: x must have rank 3, got shape \(3, 4\)"),
        ((x, h0[0], c0, W, R, b), ValueError, r"lstm: h0 must have rank 2, got shape \(5,\)"),
        ((x, h0, c0, W, R, b[None]), ValueError, r"lstm: bias must have rank 1, got shape \(1, 20\)"),
        ((x.astype(np.float64), h0, c0, W, R, b), TypeError, "lstm: x must be float32, got float64"),
        ((x, h0, c0, W.astype(np.float16), R, b), TypeError, "lstm: kernel must be float32, got float16"),
    ]


def test_lstm_rejects_bad_inputs(rng):
    for args, exc, msg in _bad_cases(rng):
        args = [np.ascontiguousarray(a) for a in args]
        with pytest.raises(exc, match=msg):
            kernels.lstm(*args)
        with pytest.raises(exc, match=msg):
            _C.lstm(*args)  # the C++ side checks on its own


def test_lstm_backward_rejects_bad_inputs(rng):
    args = make(rng, 2, 3, 4, 5)
    y, h, c, reserve = kernels.lstm(*args, training=True)
    cases = [
        ((y, h, c, *args, reserve[:, :, :20]), r"lstm_backward: reserve must have shape \(2, 3, 25\) \(batch, steps, 5\*units\)"),
        ((y, h, c, *args, reserve[:1]), r"lstm_backward: reserve must have shape \(2, 3, 25\)"),
        ((y[:, :2], h, c, *args, reserve), r"lstm_backward: dy must have shape \(2, 3, 5\), got \(2, 2, 5\)"),
        ((y, h[:, :3], c, *args, reserve), r"lstm_backward: dh_T must have shape \(2, 5\), got \(2, 3\)"),
        ((None, None, c[0], *args, reserve), r"lstm_backward: dc_T must have rank 2, got shape \(5,\)"),
    ]
    for a, msg in cases:
        a = [None if v is None else np.ascontiguousarray(v) for v in a]
        with pytest.raises(ValueError, match=msg):
            kernels.lstm_backward(*a)
        with pytest.raises(ValueError, match=msg):
            _C.lstm_backward(*a)
    for args_bad, exc, msg in _bad_cases(rng):
        with pytest.raises(exc, match=msg.replace("lstm:", "lstm_backward:")):
            kernels.lstm_backward(None, None, None, *args_bad, reserve)

"""The fused GRU and SimpleRNN kernels (csrc/cpu/gru.cpp, simple_rnn.cpp) against float64 references:
the forward written as plain numpy loops, the backward by float64 autograd of the same formulas
(torch), itself checked by central differences; and against torch.nn.GRU where the layouts map."""
import numpy as np
import pytest
import torch

from forgenet import _C, kernels

from support import assert_close, numeric_grad


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def ref_gru(x, h0, W, R, b, reset_after=True, lib=np):
    """Keras 3's GRUCell, step by step, in float64 (lib: numpy, or torch for autograd)."""
    N, T, _ = x.shape
    U = R.shape[0]
    b_in, b_rec = (b[0], b[1]) if reset_after else (b, None)
    sig = (lambda v: 1 / (1 + lib.exp(-v)))
    h, ys = h0, []
    for t in range(T):
        xp = x[:, t] @ W + b_in
        if reset_after:
            hr = h @ R + b_rec
            z, r = sig(xp[:, :U] + hr[:, :U]), sig(xp[:, U:2 * U] + hr[:, U:2 * U])
            hh = lib.tanh(xp[:, 2 * U:] + r * hr[:, 2 * U:])
        else:
            hr = h @ R[:, :2 * U]
            z, r = sig(xp[:, :U] + hr[:, :U]), sig(xp[:, U:2 * U] + hr[:, U:])
            hh = lib.tanh(xp[:, 2 * U:] + (r * h) @ R[:, 2 * U:])
        h = z * h + (1 - z) * hh
        ys.append(h)
    y = lib.stack(ys, 1) if ys else lib.zeros((N, 0, U), dtype=lib.float64)
    return y, h


def ref_grads(dy, dh, args, reset_after=True, fn=None):
    """float64 gradients of sum(y * dy) + sum(h_T * dh) by torch autograd."""
    ts = [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in args]
    y, h = (fn or (lambda *a: ref_gru(*a, reset_after=reset_after, lib=torch)))(*ts)
    loss = torch.zeros((), dtype=torch.float64)
    if dy is not None:
        loss = loss + (y * torch.tensor(dy, dtype=torch.float64)).sum()
    if dh is not None:
        loss = loss + (h * torch.tensor(dh, dtype=torch.float64)).sum()
    grads = torch.autograd.grad(loss, ts, allow_unused=True) if loss.requires_grad else [None] * len(ts)
    return [np.zeros(a.shape) if g is None else g.numpy() for g, a in zip(grads, args)]


def make(rng, N, T, D, U, reset_after=True, scale=0.5):
    f32 = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    return f32(N, T, D), f32(N, U), f32(D, 3 * U), f32(U, 3 * U), f32(2, 3 * U) if reset_after else f32(3 * U)


SHAPES = [(1, 1, 3, 7), (2, 5, 4, 33), (3, 1, 1, 16), (1, 9, 5, 1), (17, 6, 6, 20), (40, 3, 5, 9)]
NAMES = ["dx", "dh0", "dkernel", "drecurrent_kernel", "dbias"]


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("N,T,D,U", SHAPES)
def test_forward_matches_numpy_reference(rng, N, T, D, U, reset_after):
    args = make(rng, N, T, D, U, reset_after)
    y, h = kernels.gru(*args, reset_after=reset_after)
    ry, rh = ref_gru(*[a.astype(np.float64) for a in args], reset_after=reset_after)
    assert_close(y, ry, rtol=1e-4, atol=1e-5, what="y")
    assert_close(h, rh, rtol=1e-4, atol=1e-5, what="h_T")
    y2, h2, reserve = kernels.gru(*args, reset_after=reset_after, training=True)
    np.testing.assert_array_equal(y2, y)
    assert reserve.shape == (N, T, 5 * U)
    np.testing.assert_array_equal(reserve[:, :, 4 * U:], y)  # the reserve's last slot is h_t


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("N,T,D,U", SHAPES)
@pytest.mark.parametrize("grads", ["all", "dy_only", "dh_only"])
def test_backward_matches_float64_autograd(rng, N, T, D, U, reset_after, grads):
    args = make(rng, N, T, D, U, reset_after)
    y, h, reserve = kernels.gru(*args, reset_after=reset_after, training=True)
    dy = None if grads == "dh_only" else rng.standard_normal(y.shape).astype(np.float32)
    dh = None if grads == "dy_only" else rng.standard_normal(h.shape).astype(np.float32)
    got = kernels.gru_backward(dy, dh, *args, reserve, reset_after=reset_after)
    want = ref_grads(dy, dh, args, reset_after)
    for g, w, name in zip(got, want, NAMES):
        assert_close(g, w, rtol=1e-4, atol=2e-5, what=name)


@pytest.mark.parametrize("reset_after", [True, False])
def test_float64_reference_gradients_match_central_differences(rng, reset_after):
    args = [a.astype(np.float64) for a in make(rng, 2, 3, 2, 3, reset_after)]
    dy = rng.standard_normal((2, 3, 3))
    want = ref_grads(dy, None, args, reset_after)
    for i, a in enumerate(args):
        num = numeric_grad(lambda: float((ref_gru(*args, reset_after=reset_after)[0] * dy).sum()), a, eps=1e-6)
        assert_close(want[i], num, rtol=1e-6, atol=1e-8, what=NAMES[i])


def _torch_gru(W, R, b, D, U):
    """A torch.nn.GRU holding Keras-layout weights: torch's gates are r, z, n (Keras's r, z swapped)."""
    perm = lambda a: np.concatenate([a[..., U:2 * U], a[..., :U], a[..., 2 * U:]], axis=-1)  # noqa: E731
    g = torch.nn.GRU(D, U, batch_first=True)
    with torch.no_grad():
        g.weight_ih_l0.copy_(torch.from_numpy(perm(W).T.copy()))
        g.weight_hh_l0.copy_(torch.from_numpy(perm(R).T.copy()))
        g.bias_ih_l0.copy_(torch.from_numpy(perm(b[0]).copy()))
        g.bias_hh_l0.copy_(torch.from_numpy(perm(b[1]).copy()))
    return g, perm


def test_matches_torch_nn_gru_forward_and_backward(rng):
    N, T, D, U = 4, 6, 5, 8
    x, h0, W, R, b = make(rng, N, T, D, U)
    g, perm = _torch_gru(W, R, b, D, U)
    xt = torch.from_numpy(x).requires_grad_()
    ht = torch.from_numpy(h0)[None].clone().requires_grad_()
    ty, th = g(xt, ht)
    y, h, reserve = kernels.gru(x, h0, W, R, b, training=True)
    assert_close(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6, what="y")
    assert_close(h, th[0].detach().numpy(), rtol=1e-5, atol=1e-6, what="h_T")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    (ty * torch.from_numpy(dy)).sum().backward()
    dx, dh0, dk, drk, db = kernels.gru_backward(dy, None, x, h0, W, R, b, reserve)
    assert_close(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-5, what="dx")
    assert_close(dh0, ht.grad[0].numpy(), rtol=1e-4, atol=1e-5, what="dh0")
    assert_close(perm(dk).T, g.weight_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-5, what="dkernel")
    assert_close(perm(drk).T, g.weight_hh_l0.grad.numpy(), rtol=1e-4, atol=1e-5, what="drecurrent_kernel")
    assert_close(perm(db[0]), g.bias_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-5, what="dbias input")
    assert_close(perm(db[1]), g.bias_hh_l0.grad.numpy(), rtol=1e-4, atol=1e-5, what="dbias recurrent")


@pytest.mark.parametrize("N,T,D,U", [(0, 3, 2, 4), (2, 0, 3, 4), (2, 3, 0, 4), (2, 3, 2, 0)])
@pytest.mark.parametrize("reset_after", [True, False])
def test_empty_sizes(rng, N, T, D, U, reset_after):
    args = make(rng, N, T, D, U, reset_after)
    y, h, reserve = kernels.gru(*args, reset_after=reset_after, training=True)
    ry, rh = ref_gru(*[a.astype(np.float64) for a in args], reset_after=reset_after)
    assert_close(y, ry, what="y")
    assert_close(h, rh if T else args[1], what="h_T")
    dy = np.ones(y.shape, np.float32)
    got = kernels.gru_backward(dy, np.ones(h.shape, np.float32), *args, reserve, reset_after=reset_after)
    want = ref_grads(dy, np.ones(h.shape), args, reset_after) if N * T * U else \
        [np.zeros(a.shape) for a in args[:1]] + [np.ones(h.shape) if U else np.zeros(h.shape)] + \
        [np.zeros(a.shape) for a in args[2:]]
    for g, w, name in zip(got, want, NAMES):
        assert_close(g, w, what=name)


def test_threaded_split_matches_one_thread(rng):
    """Large enough that the time loop splits the batch over threads: the result may not change."""
    args = make(rng, 64, 4, 8, 96)
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        one = kernels.gru(*args, training=True)
        g1 = kernels.gru_backward(one[0], None, *args, one[2])
        _C.set_num_threads(4)
        many = kernels.gru(*args, training=True)
        g4 = kernels.gru_backward(one[0], None, *args, many[2])
    finally:
        _C.set_num_threads(before)
    for a, b in zip(one[:2], many[:2]):  # the time loop: each sample's recurrence is computed alike
        np.testing.assert_array_equal(a, b)
    for a, b in zip(g1, g4):  # the big GEMMs after the loop may sum in another order
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_bad_arguments_name_the_op_and_argument(rng):
    x, h0, W, R, b = make(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"gru: bias must have shape \(2, 15\) for units=5 with reset_after=True"):
        kernels.gru(x, h0, W, R, b[0:1])
    with pytest.raises(ValueError, match=r"gru: bias must have rank 1"):
        kernels.gru(x, h0, W, R, b, reset_after=False)
    with pytest.raises(ValueError, match=r"gru: kernel must have shape \(4, 15\) for x \(2, 3, 4\) and units=5"):
        kernels.gru(x, h0, W[:3], R, b)
    with pytest.raises(ValueError, match=r"gru: recurrent_kernel must have shape \(units, 3\*units\)"):
        kernels.gru(x, h0, W, R[:, :14], b)
    with pytest.raises(ValueError, match=r"gru: h0 must have shape \(2, 5\) \(batch, units\), got \(1, 5\)"):
        kernels.gru(x, h0[:1], W, R, b)
    with pytest.raises(TypeError, match="gru: x must be float32, got float64"):
        kernels.gru(x.astype(np.float64), h0, W, R, b)
    y, h, reserve = kernels.gru(x, h0, W, R, b, training=True)
    with pytest.raises(ValueError, match=r"gru_backward: reserve must have shape \(2, 3, 25\)"):
        kernels.gru_backward(y, h, x, h0, W, R, b, reserve[:, :, :20])
    with pytest.raises(ValueError, match=r"gru_backward: dy must have shape \(2, 3, 5\), got \(2, 2, 5\)"):
        kernels.gru_backward(y[:, :2], h, x, h0, W, R, b, reserve)


# ---- SimpleRNN --------------------------------------------------------------------------------

ACTS = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": sigmoid, "linear": lambda v: v}
TACTS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda v: v}


def ref_rnn(x, h0, W, R, b, act):
    h, ys = h0, []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W + h @ R + b)
        ys.append(h)
    return (np.stack(ys, 1) if ys else np.zeros((x.shape[0], 0, R.shape[0]))), h


def ref_rnn_torch(x, h0, W, R, b, act):
    h, ys = h0, []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W + h @ R + b)
        ys.append(h)
    return torch.stack(ys, 1), h


def make_rnn(rng, N, T, D, U, scale=0.5):
    f32 = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    return f32(N, T, D), f32(N, U), f32(D, U), f32(U, U), f32(U)


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("N,T,D,U", SHAPES)
def test_simple_rnn_forward_and_backward(rng, N, T, D, U, act):
    args = make_rnn(rng, N, T, D, U)
    y, h, reserve = kernels.simple_rnn(*args, activation=act, training=True)
    ry, rh = ref_rnn(*[a.astype(np.float64) for a in args], ACTS[act])
    scale = max(1.0, np.abs(ry).max()) if ry.size else 1.0  # float32 cancellation, relative to the largest
    assert_close(y, ry, rtol=1e-4, atol=1e-5 * scale, what="y")
    assert_close(h, rh, rtol=1e-4, atol=1e-5 * scale, what="h_T")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dh = rng.standard_normal(h.shape).astype(np.float32)
    got = kernels.simple_rnn_backward(dy, dh, *args, reserve, activation=act)
    want = ref_grads(dy, dh, args, fn=lambda *a: ref_rnn_torch(*a, TACTS[act]))
    for g, w, name in zip(got, want, NAMES):  # linear ones can grow through time: tolerance to scale
        assert_close(g, w, rtol=1e-4, atol=2e-5 * max(1.0, np.abs(w).max()), what=name)


def test_simple_rnn_matches_torch_nn_rnn(rng):
    N, T, D, U = 3, 5, 4, 6
    x, h0, W, R, b = make_rnn(rng, N, T, D, U)
    r = torch.nn.RNN(D, U, batch_first=True)
    with torch.no_grad():
        r.weight_ih_l0.copy_(torch.from_numpy(W.T.copy()))
        r.weight_hh_l0.copy_(torch.from_numpy(R.T.copy()))
        r.bias_ih_l0.copy_(torch.from_numpy(b))
        r.bias_hh_l0.zero_()
    ty, th = r(torch.from_numpy(x), torch.from_numpy(h0)[None])
    y, h = kernels.simple_rnn(x, h0, W, R, b)
    assert_close(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6, what="y")


def test_simple_rnn_bad_activation_and_shapes(rng):
    x, h0, W, R, b = make_rnn(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match="simple_rnn: activation must be 'tanh', 'relu', 'sigmoid' or 'linear', got 'elu'"):
        kernels.simple_rnn(x, h0, W, R, b, activation="elu")
    with pytest.raises(TypeError, match="simple_rnn: activation must be a str, got NoneType"):
        kernels.simple_rnn(x, h0, W, R, b, activation=None)
    with pytest.raises(ValueError, match="simple_rnn: activation must be 'tanh', 'relu', 'sigmoid' or 'linear'"):
        _C.simple_rnn(x, h0, W, R, b, "elu")
    with pytest.raises(ValueError, match=r"simple_rnn: recurrent_kernel must have shape \(units, units\)"):
        kernels.simple_rnn(x, h0, W, R[:, :4], b)
    with pytest.raises(ValueError, match=r"simple_rnn: bias must have shape \(5,\) for units=5"):
        kernels.simple_rnn(x, h0, W, R, b[:4])

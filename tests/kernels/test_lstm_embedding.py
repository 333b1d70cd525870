"""The LSTM with a pre-projected input (kernel=None: x is already x @ kernel) and the embedding-fed
LSTM that uses it (functional.lstm folds a recorded embedding lookup into the input projection)."""
import numpy as np
import pytest

import forgenet
from forgenet import functional as F
from forgenet import kernels
from forgenet.autograd.tensor import Tensor

from support import assert_close
from test_lstm import NAMES, make, ref_lstm, ref_lstm_backward


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("N,T,D,U,dy_all", [(3, 4, 5, 6, True), (1, 1, 2, 3, False), (33, 3, 4, 131, True),
                                            (19, 2, 3, 129, False)])
def test_projected_input_matches_reference(rng, threads, N, T, D, U, dy_all):
    """kernel=None with x @ kernel as x: the same outputs; dx is the gradient of x @ kernel, so that
    dx @ kernel^T and x^T dx are the reference dx and dkernel."""
    x, h0, c0, W, R, b = make(rng, N, T, D, U, scale=0.3)
    xw = (x.astype(np.float64).reshape(-1, D) @ W).reshape(N, T, 4 * U).astype(np.float32)
    before = forgenet.get_num_threads()
    forgenet.set_num_threads(threads)
    try:
        y, h, c, reserve = kernels.lstm(xw, h0, c0, None, R, b, training=True)
        dy = rng.standard_normal(y.shape).astype(np.float32) if dy_all else None
        dh, dc = (rng.standard_normal(h.shape).astype(np.float32) for _ in range(2))
        dxw, dh0, dc0, dk, dR, db = kernels.lstm_backward(dy, dh, dc, xw, h0, c0, None, R, b, reserve)
    finally:
        forgenet.set_num_threads(before)
    ry, rh, rc, _ = ref_lstm(x, h0, c0, W, R, b)
    assert_close(y, ry, rtol=1e-4, atol=1e-5, what="y")
    assert_close(h, rh, rtol=1e-4, atol=1e-5, what="h_T")
    assert_close(c, rc, rtol=1e-4, atol=1e-5, what="c_T")
    assert dk is None and dxw.shape == (N, T, 4 * U)
    want = dict(zip(NAMES, ref_lstm_backward(dy, dh, dc, x, h0, c0, W, R, b)))
    g = dxw.astype(np.float64).reshape(-1, 4 * U)
    got = {"dx": (g @ W.T).reshape(N, T, D), "dh0": dh0, "dc0": dc0,
           "dkernel": x.astype(np.float64).reshape(-1, D).T @ g, "drecurrent_kernel": dR, "dbias": db}
    for name in NAMES:
        assert_close(got[name], want[name], rtol=1e-4, atol=1e-5, what=name)


def test_projected_input_rejects_a_wrong_width(rng):
    x, h0, c0, W, R, b = make(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"lstm: with kernel=None, x must be x @ kernel"):
        kernels.lstm(x, h0, c0, None, R, b)
    y, h, c, reserve = kernels.lstm(x, h0, c0, W, R, b, training=True)
    with pytest.raises(ValueError, match=r"lstm_backward: with kernel=None"):
        kernels.lstm_backward(None, h, None, x, h0, c0, None, R, b, reserve)


def _grads(fold, rng_seed, vocab, N, T, D, U, table_grad=True):
    rng = np.random.default_rng(rng_seed)
    table = Tensor((rng.standard_normal((vocab, D)) * 0.5).astype(np.float32), requires_grad=table_grad)
    ids = rng.integers(0, vocab, (N, T))
    W, R, b = (Tensor((rng.standard_normal(s) * 0.3).astype(np.float32), requires_grad=True)
               for s in ((D, 4 * U), (U, 4 * U), (4 * U,)))
    h0 = Tensor(np.zeros((N, U), np.float32))
    x = F.embedding(ids, table)
    if not fold:
        x = x * 1.0  # no longer the lookup itself: the plain LSTM
    y, h, c = F.lstm(x, h0, h0, W, R, b)
    wy = rng.standard_normal(y.shape).astype(np.float32)
    wh = rng.standard_normal(h.shape).astype(np.float32)
    ((y * Tensor(wy)).sum() + (h * Tensor(wh)).sum()).backward()
    return y.data, h.data, table.grad, W.grad, R.grad, b.grad


@pytest.mark.parametrize("table_grad", [True, False])
def test_embedding_fed_lstm_folds_the_lookup_with_the_same_results(table_grad):
    import importlib
    lstm_mod = importlib.import_module("forgenet.functional.lstm")

    calls = []
    orig = lstm_mod._EmbeddingLSTM.forward
    lstm_mod._EmbeddingLSTM.forward = lambda self, *a: calls.append(1) or orig(self, *a)
    try:
        folded = _grads(True, 0, 7, 4, 6, 5, 9, table_grad)
    finally:
        lstm_mod._EmbeddingLSTM.forward = orig
    # a frozen table records no lookup (nothing needs its gradient): the plain LSTM then
    assert bool(calls) == table_grad, "the embedding-fed LSTM did not take the expected path"
    plain = _grads(False, 0, 7, 4, 6, 5, 9, table_grad)
    for name, a, b in zip(["y", "h_T", "dtable", "dkernel", "drecurrent_kernel", "dbias"], folded, plain):
        if b is None:
            assert a is None, name
        else:
            assert_close(a, b, rtol=1e-4, atol=1e-5, what=name)


def test_big_vocabulary_keeps_the_plain_path():
    import importlib
    lstm_mod = importlib.import_module("forgenet.functional.lstm")

    calls = []
    orig = lstm_mod._EmbeddingLSTM.forward
    lstm_mod._EmbeddingLSTM.forward = lambda self, *a: calls.append(1) or orig(self, *a)
    try:
        _grads(True, 1, 200, 2, 3, 4, 5)  # 200 table rows for 6 looked-up ones: projecting the table costs more
    finally:
        lstm_mod._EmbeddingLSTM.forward = orig
    assert not calls

"""The contract message table of tests/reliability/contract_cases.py (the same cases forgenet._C is
checked against) on the emulated forgenet._cuda, and the GPU safety net: a CUDA error left pending by
earlier work is cleared at op entry (not reported as the op's), and FORGENET_CUDA_SYNC=1 synchronises
around each op so that an asynchronous fault is reported by the op that caused it."""
import ctypes
import pathlib
import sys

import numpy as np
import pytest

from emu_support import D, alloc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "reliability"))
from contract_cases import CASES, check_case, shared_memory_case  # noqa: E402


class _Bound:
    """The emulated module's ops with stream and alloc bound, called like forgenet._C's."""

    def __init__(self, module):
        self._m = module

    def __getattr__(self, name):
        fn = getattr(self._m, name)
        return lambda *a, **k: fn(*a, stream=0, alloc=alloc, **k)


@pytest.fixture(scope="module")
def cuda(emu):
    return _Bound(emu.module)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_contract_message_emulated(cuda, case):
    check_case(cuda, D, case)


def test_shared_memory_emulated(cuda):
    op, args, kw, exc, pattern = shared_memory_case()
    var = D(args[0])
    args = (var, D(args[1]), var) + tuple(D(a) if isinstance(a, np.ndarray) else a for a in args[3:])
    with pytest.raises(exc, match=pattern):
        getattr(cuda, op)(*args)


def test_pickled_and_big_endian_interfaces(cuda):
    import pickle

    x = pickle.loads(pickle.dumps(np.ones((2, 3), np.float32)))
    np.testing.assert_allclose(cuda.softmax(D(x)).a, np.full((2, 3), 1 / 3, np.float32), rtol=1e-6)
    with pytest.raises(TypeError, match=r"^softmax: x must be float32 in native byte order, got float32 \(big-endian\)"):
        cuda.softmax(D(np.ones((2, 3), ">f4")))


def _lib(emu):
    return ctypes.CDLL(emu.module.__file__)


def test_stale_error_is_cleared_not_blamed(emu, cuda, monkeypatch):
    monkeypatch.delenv("FORGENET_CUDA_SYNC", raising=False)
    _lib(emu).forgenet_emu_set_last_error(1)  # cudaErrorInvalidValue, left by someone else's launch
    y = cuda.softmax(D(np.zeros((2, 3), np.float32)))  # succeeds: the stale error is not softmax's
    np.testing.assert_allclose(y.a, 1 / 3, rtol=1e-6)


def test_sync_mode_reports_pending_error_as_earlier_work(emu, cuda, monkeypatch):
    monkeypatch.setenv("FORGENET_CUDA_SYNC", "1")
    _lib(emu).forgenet_emu_set_last_error(1)
    with pytest.raises(RuntimeError, match=r"^softmax: a CUDA error was pending before this op started"):
        cuda.softmax(D(np.zeros((2, 3), np.float32)))
    cuda.softmax(D(np.zeros((2, 3), np.float32)))  # and it is gone after being reported


def test_sync_mode_names_the_op_that_faulted(emu, cuda, monkeypatch):
    monkeypatch.setenv("FORGENET_CUDA_SYNC", "1")
    x = D(np.zeros((1, 4, 4, 2), np.float32))
    cuda.max_pool2d(x, 2, None, "valid")  # a clean op syncs cleanly
    _lib(emu).forgenet_emu_fail_sync_in(2)  # a fault only the sync after the op reveals (the 1st is before it)
    with pytest.raises(RuntimeError, match=r"^max_pool2d: CUDA error while max_pool2d ran \(FORGENET_CUDA_SYNC=1"):
        cuda.max_pool2d(x, 2, None, "valid")
    monkeypatch.delenv("FORGENET_CUDA_SYNC")
    _lib(emu).forgenet_emu_fail_sync_in(1)  # without the mode nothing synchronises: the op returns
    cuda.max_pool2d(x, 2, None, "valid")
    monkeypatch.setenv("FORGENET_CUDA_SYNC", "1")  # and the next op in the mode blames earlier work
    with pytest.raises(RuntimeError, match=r"^avg_pool2d: CUDA error from work queued before this op"):
        cuda.avg_pool2d(x, 2, None, "valid")


def test_out_buffers_emulated(cuda):
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    out = D(np.full((3, 5), np.nan, np.float32))
    got = cuda.softmax(D(x), out=out)
    assert got is out
    np.testing.assert_allclose(out.a, np.exp(x) / np.exp(x).sum(1, keepdims=True), rtol=1e-5)
    with pytest.raises(ValueError, match=r"^softmax: out must have shape \(3, 5\), got \(5, 3\)$"):
        cuda.softmax(D(x), out=D(np.zeros((5, 3), np.float32)))
    xd = D(x)
    with pytest.raises(ValueError, match=r"^softmax: out must not share memory with x"):
        cuda.softmax(xd, out=xd)


_r = np.random.default_rng(1)


def _f(*s):
    return _r.standard_normal(s).astype(np.float32)


_GRU = (_f(2, 3, 4), _f(2, 5), _f(4, 15), _f(5, 15), _f(2, 15))
_RNN = (_f(2, 3, 4), _f(2, 5), _f(4, 5), _f(5, 5), _f(5))
_BN = (_f(4, 3, 5), _f(3), _f(3))
_DW = (_f(2, 5, 6, 3), _f(3, 3, 3, 2), _f(6))
# (op, positional args, keyword args): the later families' out= on the emulated module, against forgenet._C
OUT_CASES = [
    ("gru", _GRU + (True, True), {}),
    ("simple_rnn", _RNN + ("relu", True), {}),
    ("batch_norm", _BN + (1,), {}),
    ("batch_norm_inference", _BN + (_BN[1], _BN[1] ** 2, 1), {}),
    ("depthwise_conv2d", _DW, {"padding": "same", "dilation_rate": 2}),
]


@pytest.mark.parametrize("op, args, kw", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_out_buffers_of_later_families_emulated(cuda, op, args, kw):
    from forgenet import _C

    want = getattr(_C, op)(*args, **kw)
    want_t = want if isinstance(want, tuple) else (want,)
    outs = tuple(D(np.full_like(w, np.nan)) for w in want_t)
    dargs = tuple(D(a) if isinstance(a, np.ndarray) else a for a in args)
    got = getattr(cuda, op)(*dargs, **kw, out=outs if isinstance(want, tuple) else outs[0])
    got_t = got if isinstance(got, tuple) else (got,)
    for g, o, w in zip(got_t, outs, want_t):
        assert g is o
        np.testing.assert_allclose(o.a, w, rtol=1e-4, atol=1e-5, err_msg=op)
    with pytest.raises(ValueError, match=rf"^{op}: out"):
        getattr(cuda, op)(*dargs, **kw, out=(D(np.zeros((1,), np.float32)),) * len(want_t) if len(want_t) > 1
                          else D(np.zeros((1,), np.float32)))

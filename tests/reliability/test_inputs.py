"""Valid arrays accepted, foreign ones refused in forgenet's words: arrays that came through pickle
(multiprocessing, joblib), the other byte order, torch tensors of every awkward kind, non-arrays. And
empty outputs with huge dimensions return at once (in a subprocess with a timeout: they used to loop
for minutes or years)."""
import pickle

import numpy as np
import pytest
import torch

import forgenet.kernels as K
from forgenet import _C
from _subproc import ok

rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def repickle(a):
    return pickle.loads(pickle.dumps(a))


# one call per family, as (kernels function, _C function, args)
def _calls(tf):
    r = np.random.default_rng(1)  # the same data on every call
    f32 = lambda *shape: r.standard_normal(shape).astype(np.float32)  # noqa: E731
    x4, k4 = f32(2, 5, 5, 3), f32(3, 3, 3, 2)
    q = f32(1, 2, 4, 8)
    return [
        ("gemm", lambda a=f32(3, 4), b=f32(4, 2): K.gemm(tf(a), tf(b))),
        ("softmax", lambda a=f32(3, 4): K.softmax(tf(a))),
        ("conv2d", lambda b=f32(2): K.conv2d(tf(x4), tf(k4), tf(b), padding="same")),
        ("max_pool2d", lambda: K.max_pool2d(tf(x4))),
        ("attention", lambda: K.attention(tf(q), tf(q), tf(q))),
        ("layer_norm", lambda a=f32(3, 4), g=f32(4), b=f32(4): K.layer_norm(tf(a), tf(g), tf(b))),
        ("embedding", lambda t=f32(3, 4): K.embedding(tf(np.array([0, 2], np.int64)), tf(t))),
        ("lstm", lambda a=(f32(2, 3, 4), f32(2, 5), f32(2, 5), f32(4, 20), f32(5, 20), f32(20)):
            K.lstm(*map(tf, a))),
    ]


@pytest.mark.parametrize("i", range(8))
def test_pickled_arrays_accepted(i):
    name, call = _calls(repickle)[i]
    ref_name, ref = _calls(lambda a: a)[i]
    out, want = call(), ref()
    for o, w in zip(out if isinstance(out, tuple) else (out,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_array_equal(o, w, err_msg=name)


def test_pickled_dtype_straight_to_the_extension():
    # the dtype object differs from np.float32's after pickling; the bindings compare kind/size/order
    a = repickle(f32(3, 4))
    assert a.dtype is not np.dtype(np.float32) or True
    np.testing.assert_array_equal(_C.softmax(a), _C.softmax(np.ascontiguousarray(a)))
    ids = repickle(np.array([1, 0], np.int64))
    assert _C.embedding(ids, f32(2, 3)).shape == (2, 3)


def test_other_byte_order():
    a = f32(3, 4)
    big = a.astype(">f4")
    np.testing.assert_array_equal(K.softmax(big), K.softmax(a))  # the kernel API converts it
    with pytest.raises(TypeError, match=r"softmax: x must be float32 in native byte order, got float32 \(big-endian\)"):
        _C.softmax(big)                                          # the extension refuses it, clearly
    with pytest.raises(TypeError, match=r"embedding: ids must be int64 in native byte order"):
        _C.embedding(np.array([0], ">i8"), f32(2, 3))


def test_torch_tensors():
    t = torch.randn(3, 4)
    np.testing.assert_allclose(K.softmax(t), K.softmax(t.numpy()))
    np.testing.assert_allclose(K.softmax(t.T), K.softmax(np.ascontiguousarray(t.numpy().T)))  # non-contiguous
    cases = [
        (torch.randn(3, 4, requires_grad=True), r"softmax: x is a torch tensor that requires grad.*x\.detach\(\)"),
        (torch.randn(3, 4).to(torch.bfloat16), r"softmax: x must be float32, got torch\.bfloat16"),
        (torch.randn(3, 4).to_sparse(), r"softmax: x must be a dense \(strided\) tensor.*to_dense"),
        (torch.empty(3, 4, device="meta"), r"softmax: x is a torch tensor on meta"),
        (torch.randn(3, 4, dtype=torch.float64), r"softmax: x must be float32, got float64"),
        (torch.randn(3, 4, dtype=torch.complex64).conj(), r"softmax: x .*"),
    ]
    for t, pattern in cases:
        with pytest.raises(TypeError, match=pattern):
            K.softmax(t)
    with pytest.raises(TypeError, match=r"embedding: ids"):
        K.embedding(torch.ones(2, requires_grad=True), f32(3, 2))


class _Weird:
    def __array__(self, *a, **k):
        raise KeyError("boom")

    def __dlpack__(self, *a, **k):
        raise BufferError("no")


@pytest.mark.parametrize("bad", [[[1.0, 2.0], [3.0]], _Weird(), object(), "text", None])
def test_non_arrays_are_type_errors(bad):
    with pytest.raises(TypeError, match=r"^softmax: x "):
        K.softmax(bad)
    with pytest.raises(TypeError, match=r"^softmax: x "):
        _C.softmax(bad)


@pytest.mark.parametrize("call, pattern", [
    (lambda: K.embedding_backward(f32(2, 3), np.array([0, 1]), 2.5), r"embedding_backward: input_dim must be an int"),
    (lambda: K.embedding_backward(f32(2, 3), np.array([0, 1]), float("inf")), r"embedding_backward: input_dim must be an int"),
    (lambda: _C.embedding_backward(f32(2, 3), np.array([0, 1]), 2**80), r"embedding_backward: input_dim must fit"),
    (lambda: K.max_pool2d(f32(1, 4, 4, 1), pool_size=2**80), r"max_pool2d: pool_size must be an int or a pair"),
    (lambda: _C.max_pool2d(f32(1, 4, 4, 1), 2**80), r"max_pool2d: pool_size must be an int or a pair"),
    (lambda: _C.conv2d(f32(1, 4, 4, 1), f32(1, 1, 1, 1), strides=(1, 2**64)), r"conv2d: strides must be an int or a pair"),
    (lambda: _C.attention(f32(1, 1, 2, 2), f32(1, 1, 2, 2), f32(1, 1, 2, 2), False, 10**400), r"attention: scale must be"),
    (lambda: _C.attention(f32(1, 1, 2, 2), f32(1, 1, 2, 2), f32(1, 1, 2, 2), False, float("nan")), r"attention: scale must be finite"),
    (lambda: K.gemm(f32(2, 2), f32(2, 2), alpha="x"), r"gemm: alpha must be a real number"),
])
def test_wrong_exception_types_are_gone(call, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        call()


def test_empty_outputs_with_huge_dimensions_return_at_once():
    ok("""
import numpy as np, forgenet.kernels as K
from forgenet import _C
x = np.zeros((1, 1 << 20, 1 << 20, 0), np.float32)          # 0 channels, H = W = 2^20
for op in ("max_pool2d", "avg_pool2d"):
    y = getattr(K, op)(x, pool_size=3, strides=1, padding="same")
    assert y.shape == (1, 1 << 20, 1 << 20, 0)
    dx = getattr(K, op + "_backward")(y, x, pool_size=3, strides=1, padding="same")
    assert dx.shape == x.shape
y = K.max_pool2d(np.ones((1, 3, 3, 1), np.float32), pool_size=(2**40, 2**40), strides=1, padding="same")
assert y.shape == (1, 3, 3, 1) and (y == 1).all()   # a window far past the input: offsets stay in range
n = 0
y, hT, cT = K.lstm(np.zeros((0, 1 << 40, 3), np.float32), np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32),
                   np.zeros((3, 16), np.float32), np.zeros((4, 16), np.float32), np.zeros(16, np.float32))
assert y.shape == (0, 1 << 40, 4)
g = K.embedding_backward(np.zeros((5, 0), np.float32), np.zeros(5, np.int64), 1 << 40)
assert g.shape == (1 << 40, 0)
q = np.zeros((0, 4, 0, 1 << 40), np.float32)
o, lse = K.attention(q, q, q, return_lse=True)
assert o.shape == (0, 4, 0, 1 << 40)
""", timeout=30)

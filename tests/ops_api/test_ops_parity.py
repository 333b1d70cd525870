"""forgenet.ops against keras.ops (torch backend) on the same inputs: values, and for the differentiable
functions the gradient of sum(w * f(x)) against torch's autograd through keras.ops."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from forgenet import ops  # noqa: E402
from forgenet.autograd import Tensor  # noqa: E402

R = np.random.default_rng(7)


def f32(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


def pos(*shape):
    return R.uniform(0.2, 2.0, shape).astype(np.float32)


def unit(*shape):
    return R.uniform(-0.9, 0.9, shape).astype(np.float32)


A, B = f32(3, 4), f32(3, 4)
X3 = f32(2, 3, 4)
IDX = np.array([[0, 2], [1, 3], [3, 0]], np.int64)

# (name, args, kwargs, differentiable)
CASES = [
    ("add", (A, B), {}, True), ("subtract", (A, B), {}, True), ("multiply", (A, f32(4)), {}, True),
    ("divide", (A, pos(3, 4)), {}, True), ("negative", (A,), {}, True), ("power", (pos(3, 4), 2.5), {}, True),
    ("power", (pos(3, 4), f32(3, 4)), {}, True),
    ("square", (A,), {}, True), ("sqrt", (pos(3, 4),), {}, True), ("abs", (A,), {}, True),
    ("exp", (A,), {}, True), ("expm1", (A,), {}, True), ("log", (pos(3, 4),), {}, True),
    ("log1p", (pos(3, 4),), {}, True), ("log2", (pos(3, 4),), {}, True), ("log10", (pos(3, 4),), {}, True),
    ("sin", (A,), {}, True), ("cos", (A,), {}, True), ("tan", (unit(3, 4),), {}, True),
    ("arcsin", (unit(3, 4),), {}, True), ("arccos", (unit(3, 4),), {}, True), ("arctan", (A,), {}, True),
    ("sinh", (A,), {}, True), ("cosh", (A,), {}, True), ("tanh", (A,), {}, True),
    ("arcsinh", (A,), {}, True), ("arctanh", (unit(3, 4),), {}, True),
    ("arctan2", (A, B), {}, True), ("maximum", (A, B), {}, True), ("minimum", (A, f32(4)), {}, True),
    ("clip", (A, -0.5, 0.7), {}, True), ("where", (A > 0, A, B), {}, True), ("logaddexp", (A, B), {}, True),
    ("reciprocal", (pos(3, 4),), {}, True), ("sign", (A,), {}, False), ("floor", (A,), {}, False),
    ("ceil", (A,), {}, False), ("round", (A,), {}, False), ("mod", (A, 0.7), {}, False),
    ("sum", (X3,), {"axis": 1}, True), ("sum", (X3,), {"axis": (0, 2), "keepdims": True}, True),
    ("mean", (X3,), {"axis": -1}, True), ("max", (X3,), {"axis": 1}, True), ("min", (X3,), {}, True),
    ("prod", (pos(2, 3),), {"axis": 1}, True), ("var", (X3,), {"axis": 1}, True), ("std", (X3,), {}, True),
    ("cumsum", (X3,), {"axis": 1}, True), ("cumprod", (pos(2, 4),), {"axis": 1}, True),
    ("logsumexp", (X3,), {"axis": -1}, True), ("argmax", (X3,), {"axis": -1}, False),
    ("argmin", (X3,), {"axis": 0}, False), ("any", (A > 1,), {"axis": 0}, False), ("all", (A > -3,), {}, False),
    ("sort", (A,), {"axis": -1}, True), ("argsort", (A,), {}, False), ("median", (X3,), {"axis": 1}, True),
    ("quantile", (X3, 0.3), {"axis": -1}, True), ("count_nonzero", (A > 0,), {"axis": 1}, False),
    ("average", (A,), {"axis": 1, "weights": pos(4)}, True),
    ("reshape", (X3, (4, 6)), {}, True), ("transpose", (X3, (2, 0, 1)), {}, True),
    ("expand_dims", (A, 1), {}, True), ("squeeze", (f32(3, 1, 4),), {"axis": 1}, True),
    ("concatenate", ([A, B],), {"axis": 1}, True), ("stack", ([A, B],), {"axis": 1}, True),
    ("tile", (A, (2, 1)), {}, True), ("repeat", (A, 3), {"axis": 1}, True), ("flip", (X3,), {"axis": 1}, True),
    ("roll", (A, 2), {"axis": 1}, True), ("broadcast_to", (f32(1, 4), (3, 4)), {}, True),
    ("pad", (A, ((1, 2), (0, 1))), {}, True), ("pad", (A, ((1, 1), (2, 2))), {"mode": "reflect"}, True),
    ("swapaxes", (X3, 0, 2), {}, True), ("moveaxis", (X3, 0, -1), {}, True),
    ("take", (A, np.array([2, 0, 2])), {"axis": 1}, True), ("take", (A, np.array([[1, 5], [7, 0]])), {}, True),
    ("take_along_axis", (A, IDX), {"axis": 1}, True), ("tril", (f32(4, 4),), {}, True),
    ("triu", (f32(4, 4),), {"k": 1}, True), ("diagonal", (f32(4, 4),), {}, True), ("trace", (f32(4, 4),), {}, True),
    ("diff", (A,), {}, True), ("ravel", (X3,), {}, True), ("append", (A, B), {"axis": 0}, True),
    ("matmul", (A, f32(4, 5)), {}, True), ("matmul", (X3, f32(2, 4, 5)), {}, True),
    ("matmul", (f32(4), f32(4, 2)), {}, True), ("dot", (A, f32(4, 2)), {}, True), ("dot", (f32(4), f32(4)), {}, True),
    ("tensordot", (X3, f32(4, 3, 2)), {"axes": ([1, 2], [1, 0])}, True), ("outer", (f32(3), f32(4)), {}, True),
    ("inner", (A, B), {}, True), ("vdot", (f32(5), f32(5)), {}, True), ("cross", (f32(4, 3), f32(4, 3)), {}, True),
    ("einsum", ("ij,jk->ik", A, f32(4, 5)), {}, True), ("einsum", ("bij,bkj->bik", X3, f32(2, 5, 4)), {}, True),
    ("einsum", ("bqhd,bkhd->bhqk", f32(2, 3, 2, 4), f32(2, 5, 2, 4)), {}, True),
    ("einsum", ("ij->ji", A), {}, True), ("einsum", ("ij->", A), {}, True), ("einsum", ("...ij,jk", X3, f32(4, 2)), {}, True),
    ("einsum", ("ab,bc,cd->ad", f32(2, 3), f32(3, 4), f32(4, 5)), {}, True),
    ("equal", (A, A), {}, False), ("greater", (A, B), {}, False), ("less_equal", (A, B), {}, False),
    ("logical_and", (A > 0, B > 0), {}, False), ("isnan", (A,), {}, False),
    ("relu", (A,), {}, True), ("relu6", (A * 4,), {}, True), ("sigmoid", (A,), {}, True),
    ("softplus", (A,), {}, True), ("softsign", (A,), {}, True), ("silu", (A,), {}, True),
    ("log_sigmoid", (A,), {}, True), ("leaky_relu", (A,), {"negative_slope": 0.1}, True),
    ("hard_sigmoid", (A * 3,), {}, True), ("hard_silu", (A * 3,), {}, True), ("elu", (A,), {"alpha": 0.5}, True),
    ("selu", (A,), {}, True), ("celu", (A,), {}, True), ("gelu", (A,), {}, True),
    ("gelu", (A,), {"approximate": False}, True), ("glu", (A,), {}, True), ("softmax", (X3,), {"axis": 1}, True),
    ("log_softmax", (X3,), {}, True), ("sparse_plus", (A,), {}, True), ("squareplus", (A,), {}, True),
    ("tanh_shrink", (A,), {}, True), ("soft_shrink", (A,), {}, True), ("hard_tanh", (A,), {}, True),
    ("normalize", (A,), {}, True), ("one_hot", (np.array([0, 2, 1, 3]), 4), {}, False),
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}, False), ("erf", (A,), {}, True),
    ("conv", (f32(2, 6, 6, 3), f32(3, 3, 3, 4)), {"strides": 1, "padding": "same"}, True),
    ("conv", (f32(2, 7, 7, 3), f32(3, 3, 3, 4)), {"strides": 2}, True),
    ("conv", (f32(2, 9, 3), f32(3, 3, 5)), {"padding": "same"}, True),
    ("max_pool", (f32(2, 6, 6, 3), 2), {}, True), ("average_pool", (f32(2, 6, 6, 3), 3), {"strides": 2}, True),
    ("max_pool", (f32(2, 8, 3), 2), {}, True),
    ("dot_product_attention", (f32(2, 5, 2, 4), f32(2, 6, 2, 4), f32(2, 6, 2, 4)), {}, True),
    ("dot_product_attention", (f32(2, 5, 2, 4), f32(2, 5, 2, 4), f32(2, 5, 2, 4)), {"is_causal": True}, True),
    ("dot_product_attention", (f32(1, 4, 4, 8), f32(1, 6, 2, 8), f32(1, 6, 2, 8)),
     {"mask": R.random((1, 4, 4, 6)) > 0.3}, True),
    ("dot_product_attention", (f32(1, 4, 2, 8), f32(1, 6, 2, 8), f32(1, 6, 2, 8)), {"bias": f32(1, 2, 4, 6)}, True),
    ("norm", (A,), {}, True), ("norm", (A,), {"axis": 1, "ord": 1}, True), ("norm", (X3,), {"axis": -1, "ord": 3}, True),
    ("norm", (A,), {"ord": "fro", "axis": (0, 1)}, True), ("norm", (A,), {"ord": np.inf, "axis": (0, 1)}, True),
    ("norm", (A,), {"ord": 1, "axis": (0, 1), "keepdims": True}, True), ("norm", (A,), {"axis": 0, "ord": np.inf}, True),
    ("segment_sum", (A, np.array([0, 1, 0])), {"num_segments": 2}, True),
    ("segment_max", (A, np.array([0, 1, 0])), {"num_segments": 3}, True),
    ("extract_sequences", (f32(2, 10), 4, 3), {}, True),
]


def _ids(c):
    return c[0]


def _to_torch(a, grad):
    if isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray):
        return [_to_torch(t, grad) for t in a]
    if isinstance(a, np.ndarray):
        t = torch.from_numpy(a.copy())
        if grad and a.dtype == np.float32:
            t.requires_grad_(True)
        return t
    return a


def _to_ours(a, grad):
    if isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray):
        return [_to_ours(t, grad) for t in a]
    if isinstance(a, np.ndarray):
        return Tensor(a.copy(), requires_grad=grad and a.dtype == np.float32)
    return a


def _leaves(args):
    out = []
    for a in args:
        out.extend(_leaves(a) if isinstance(a, list) else [a])
    return out


@pytest.mark.parametrize("name,args,kwargs,diff", CASES, ids=[_ids(c) for c in CASES])
def test_values_match_keras(name, args, kwargs, diff):
    ours = getattr(ops, name)(*args, **kwargs)
    theirs = getattr(keras.ops, name)(*args, **kwargs)
    if isinstance(theirs, (list, tuple)):
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(o, np.float64), keras.ops.convert_to_numpy(t).astype(np.float64),
                                       rtol=2e-5, atol=2e-5, err_msg=name)
        return
    t = keras.ops.convert_to_numpy(theirs)
    assert isinstance(ours, np.ndarray), f"{name}: arrays in must give an array out, got {type(ours)}"
    assert ours.shape == t.shape, f"{name}: shape {ours.shape} vs keras {t.shape}"
    np.testing.assert_allclose(ours.astype(np.float64), t.astype(np.float64), rtol=2e-5, atol=2e-5, err_msg=name)


@pytest.mark.parametrize("name,args,kwargs,diff", [c for c in CASES if c[3]], ids=[_ids(c) for c in CASES if c[3]])
def test_gradients_match_torch(name, args, kwargs, diff):
    targs = [_to_torch(a, True) for a in args]
    fargs = [_to_ours(a, True) for a in args]
    ty = getattr(keras.ops, name)(*targs, **kwargs)
    fy = getattr(ops, name)(*fargs, **kwargs)
    ty = ty[0] if isinstance(ty, (list, tuple)) else ty
    fy = fy[0] if isinstance(fy, (list, tuple)) else fy
    assert isinstance(fy, Tensor)
    w = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(np.float32)
    (ty.to(torch.float32) * torch.from_numpy(w)).sum().backward()
    (fy * w).sum().backward()
    tl = [t for t in _leaves(targs) if isinstance(t, torch.Tensor) and t.requires_grad]
    fl = [t for t in _leaves(fargs) if isinstance(t, Tensor) and t.requires_grad]
    for i, (t, f) in enumerate(zip(tl, fl)):
        tg = np.zeros(t.shape, np.float32) if t.grad is None else t.grad.numpy()
        fg = np.zeros(f.shape, np.float32) if f.grad is None else np.asarray(f.grad)
        np.testing.assert_allclose(fg, tg, rtol=2e-4, atol=2e-4, err_msg=f"{name}: gradient of input {i}")


def test_random_is_seeded():
    from forgenet import random as frandom
    from forgenet.utils import set_random_seed

    assert np.array_equal(frandom.normal((3, 2), seed=5), frandom.normal((3, 2), seed=5))
    set_random_seed(3)
    a = frandom.uniform((4,))
    set_random_seed(3)
    assert np.array_equal(a, frandom.uniform((4,)))
    g = frandom.SeedGenerator(1)
    x, y = frandom.normal((3,), seed=g), frandom.normal((3,), seed=g)
    assert not np.array_equal(x, y)
    g2 = frandom.SeedGenerator(1)
    assert np.array_equal(x, frandom.normal((3,), seed=g2))
    r = frandom.randint((1000,), 0, 5, seed=0)
    assert r.dtype == np.int32 and r.min() == 0 and r.max() == 4
    t = frandom.truncated_normal((2000,), stddev=2.0, seed=0)
    assert np.abs(t).max() <= 4.0
    d = frandom.dropout(np.ones((1000,), np.float32), 0.25, seed=0)
    assert set(np.unique(d)) <= {0.0, np.float32(1 / 0.75)} and abs((d == 0).mean() - 0.25) < 0.05
    s = frandom.shuffle(np.arange(10), seed=0)
    assert sorted(s) == list(range(10))


def test_top_k_and_in_top_k_match_keras():
    x = f32(4, 7)
    v, i = ops.top_k(x, 3)
    kv, ki = keras.ops.top_k(x, 3)
    np.testing.assert_allclose(v, keras.ops.convert_to_numpy(kv))
    np.testing.assert_array_equal(i, keras.ops.convert_to_numpy(ki))
    t = np.array([0, 3, 6, 2])
    np.testing.assert_array_equal(ops.in_top_k(t, x, 2), keras.ops.convert_to_numpy(keras.ops.in_top_k(t, x, 2)))


def test_moments_and_batch_normalization_match_keras():
    x = f32(4, 5, 3)
    m, v = ops.moments(x, axes=[0, 1])
    km, kv = keras.ops.moments(x, axes=[0, 1])
    np.testing.assert_allclose(m, keras.ops.convert_to_numpy(km), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v, keras.ops.convert_to_numpy(kv), rtol=1e-5, atol=1e-6)
    ours = ops.batch_normalization(x, m, v, axis=-1, offset=f32(3), scale=pos(3), epsilon=1e-3)
    assert ours.shape == x.shape


def test_creation_matches_keras():
    for name, args, kw in [("zeros", ((2, 3),), {}), ("ones", ((4,),), {"dtype": "int32"}), ("eye", (3, 4), {"k": 1}),
                           ("full", ((2, 2), 7.0), {}), ("identity", (3,), {}), ("arange", (2, 9, 2), {}),
                           ("arange", (0.0, 1.0, 0.25), {}), ("linspace", (0, 1, 5), {}), ("tri", (3,), {})]:
        ours, theirs = getattr(ops, name)(*args, **kw), keras.ops.convert_to_numpy(getattr(keras.ops, name)(*args, **kw))
        assert ours.dtype == theirs.dtype, (name, ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours, theirs, err_msg=name)


def test_core_functions():
    x = f32(3, 4)
    t = ops.convert_to_tensor(x)
    assert isinstance(t, Tensor) and ops.is_tensor(t) and ops.shape(t) == (3, 4)
    assert ops.cast(x, "int32").dtype == np.int32
    np.testing.assert_allclose(ops.slice(x, (1, 1), (2, 2)), x[1:3, 1:3])
    np.testing.assert_allclose(ops.slice_update(x, (0, 1), np.zeros((2, 2), np.float32))[:2, 1:3], 0)
    s = ops.scatter(np.array([[0, 1], [2, 3], [0, 1]]), np.array([1.0, 2.0, 3.0], np.float32), (3, 4))
    assert s[0, 1] == 4.0 and s[2, 3] == 2.0
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.while_loop(lambda i: i < 5, lambda i: i + 1, 0) == 5
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4, dtype=np.float32))
    assert carry == 6.0 and list(ys) == [0.0, 0.0, 2.0, 9.0]
    v = Tensor(x, requires_grad=True)
    ops.sum(ops.cast(v, "float64") * 2.0).backward()
    np.testing.assert_allclose(v.grad, 2.0)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="matmul"):
        ops.matmul(f32(2, 3), f32(4, 5, 2))
    with pytest.raises(ValueError, match="einsum"):
        ops.einsum("ij,jk->ik", f32(2, 3))
    with pytest.raises(NotImplementedError, match="dilation_rate"):
        ops.conv(f32(1, 5, 5, 2), f32(3, 3, 2, 2), dilation_rate=2)

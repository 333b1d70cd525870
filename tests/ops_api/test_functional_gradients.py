"""Central differences (float64) for the new differentiable Functions in forgenet.functional:
pointwise, reduce, shape (the one _Gather backward), linalg (batched GEMM, float32)."""
import numpy as np
import pytest

from forgenet.autograd import Tensor
from forgenet.functional import linalg as L
from forgenet.functional import pointwise as P
from forgenet.functional import reduce as R
from forgenet.functional import shape as S

from support import numeric_grad

rng = np.random.default_rng(3)


def check(fn, *arrays, eps=1e-6, tol=1e-6):
    ws = None
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    ws = rng.standard_normal(y.shape)
    (y * ws).sum().backward()

    for a, t in zip(arrays, ts):
        def f():
            return float((fn(*[Tensor(b) for b in arrays]).data * ws).sum())
        num = numeric_grad(f, a, eps=eps)
        np.testing.assert_allclose(t.grad, num, rtol=tol * 100, atol=tol * 100)


X = rng.uniform(-1.5, 1.5, (3, 4))
POS = rng.uniform(0.3, 1.5, (3, 4))
UNIT = rng.uniform(-0.8, 0.8, (3, 4))

UNARY = [("abs", X), ("square", X), ("log1p", POS), ("expm1", X), ("log2", POS), ("log10", POS), ("sin", X),
         ("cos", X), ("tan", UNIT), ("arcsin", UNIT), ("arccos", UNIT), ("arctan", X), ("sinh", X), ("cosh", X),
         ("arcsinh", X), ("arccosh", POS + 1.2), ("arctanh", UNIT), ("reciprocal", POS), ("rsqrt", POS),
         ("softplus", X), ("softsign", X), ("silu", X), ("log_sigmoid", X), ("relu6", X * 5), ("leaky_relu", X),
         ("elu", X), ("selu", X), ("celu", X), ("hard_sigmoid", X * 4), ("hard_silu", X * 4), ("hard_tanh", X * 2),
         ("mish", X), ("gelu_tanh", X)]


@pytest.mark.parametrize("name,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, x):
    check(getattr(P, name), x.copy())


@pytest.mark.parametrize("name", ["maximum", "minimum", "pow", "arctan2"])
def test_binary_broadcast(name):
    a = POS.copy() if name == "pow" else X.copy()
    b = rng.uniform(0.3, 1.5, (4,)) if name == "pow" else rng.uniform(-1.4, 1.4, (4,))
    check(getattr(P, name), a, b)


def test_where_and_clip():
    c = X > 0
    check(lambda a, b: P.where(c, a, b), X.copy(), rng.standard_normal((1, 4)))
    check(lambda a: P.clip(a, -0.5, 0.6), X.copy())


@pytest.mark.parametrize("fn", [lambda a: R.max(a, axis=1), lambda a: R.min(a), lambda a: R.prod(a, axis=0),
                                lambda a: R.cumsum(a, axis=1), lambda a: R.cumprod(a, axis=1),
                                lambda a: R.logsumexp(a, axis=0), lambda a: R.std(a, axis=1),
                                lambda a: R.var(a, keepdims=True)])
def test_reductions(fn):
    check(fn, POS.copy())


def test_prod_with_zeros_and_max_ties():
    a = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, 4.0]])
    t = Tensor(a, requires_grad=True)
    R.prod(t, axis=1).sum().backward()
    np.testing.assert_allclose(t.grad, [[6.0, 0, 0], [0, 0, 0], [8.0, 4.0, 2.0]])
    t = Tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    R.max(t).backward()
    np.testing.assert_allclose(t.grad, [0, 0.5, 0.5])  # shared among ties, as torch.amax


@pytest.mark.parametrize("fn", [lambda a: S.tile(a, (2, 3)), lambda a: S.repeat(a, 2, axis=0),
                                lambda a: S.repeat(a, [1, 0, 2, 1], axis=1), lambda a: S.flip(a, 1),
                                lambda a: S.roll(a, 1), lambda a: S.broadcast_to(a[:1], (5, 3, 4)),
                                lambda a: S.take(a, np.array([3, 3, 0]), axis=1),
                                lambda a: S.take_along_axis(a, np.array([[0], [3], [3]]), axis=1),
                                lambda a: S.pad(a, ((1, 0), (2, 1)), constant_values=3.0),
                                lambda a: S.pad(a, ((2, 2), (1, 1)), mode="symmetric"),
                                lambda a: S.pad(a, ((1, 1), (1, 1)), mode="edge"),
                                lambda a: S.tril(a), lambda a: S.moveaxis(a[None], 0, 2),
                                lambda a: S.stack(S.split(a, 2, axis=1), 0)])
def test_shape_functions(fn):
    check(fn, X.copy())


def test_batched_matmul_and_einsum_float32():
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((1, 4, 5)).astype(np.float32)
    for fn in (L.matmul, lambda p, q: L.einsum("bij,cjk->bik", p, q)):
        ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
        w = rng.standard_normal((2, 3, 5)).astype(np.float32)
        (fn(ta, tb) * w).sum().backward()
        for x, t in ((a, ta), (b, tb)):
            def f():
                return float((fn(Tensor(a), Tensor(b)).data.astype(np.float64) * w).sum())
            np.testing.assert_allclose(t.grad, numeric_grad(f, x, eps=1e-2), rtol=2e-2, atol=2e-2)


def test_einsum_reference_float64():
    # float64 reference by explicit loops (no np.einsum in the library; the test may use numpy freely)
    q = rng.standard_normal((2, 3, 2, 4)).astype(np.float32)
    k = rng.standard_normal((2, 5, 2, 4)).astype(np.float32)
    out = L.einsum("bqhd,bkhd->bhqk", Tensor(q), Tensor(k)).data
    ref = np.einsum("bqhd,bkhd->bhqk", q.astype(np.float64), k.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(NotImplementedError, match="repeated letters"):
        L.einsum("ii->i", Tensor(np.eye(3, dtype=np.float32)))

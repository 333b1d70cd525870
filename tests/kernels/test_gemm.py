import json
import os
import subprocess
import sys

import numpy as np
import pytest

import forgenet
from forgenet import _C, kernels

from support import assert_close


def ref_gemm(a, b, c=None, ta=False, tb=False, alpha=1.0, beta=0.0):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    out = alpha * ((a64.T if ta else a64) @ (b64.T if tb else b64))
    return out if beta == 0 else out + beta * c.astype(np.float64)


def operands(rng, m, n, k, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def assert_gemm_close(got, a, b, c=None, ta=False, tb=False, alpha=1.0, beta=0.0, what=""):
    """Error relative to |alpha| |op(a)| @ |op(b)| + |beta c|: the scale float32 rounding works at."""
    want = ref_gemm(a, b, c, ta, tb, alpha, beta)
    scale = ref_gemm(np.abs(a), np.abs(b), None if c is None else np.abs(c), ta, tb, abs(alpha), abs(beta))
    assert got.shape == want.shape and got.dtype == np.float32, what
    err = np.abs(got - want) / (scale + 1e-30)
    assert err.size == 0 or err.max() < 2e-6 * max(1.0, np.sqrt(a.size and (a.shape[0] if ta else a.shape[1]))), what


# (M, N, K): tiny, odd, tall/skinny, beyond one cache block in each dimension, and the CNN/Dense shapes;
# K = 1024 packs a row-major A (rows 4 KiB apart) through the 8-row transpose cut to 6 (6 x 16, a partial
# last tile) and 4 rows (4 x 24) per panel.
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 9), (17, 33, 65), (12, 32, 256), (13, 31, 257), (100, 3, 700),
          (3, 600, 50), (300, 40, 50), (9, 32, 3000), (32, 64, 1600), (150, 530, 300), (2000, 9, 32),
          (1024, 17, 1024), (49, 1030, 520), (32, 512, 130), (36, 500, 170), (50, 64, 1024), (32, 48, 1024)]


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_gemm_matches_float64_reference(rng, m, n, k, ta, tb):
    a, b = operands(rng, m, n, k, ta, tb)
    assert_gemm_close(kernels.gemm(a, b, trans_a=ta, trans_b=tb), a, b, None, ta, tb, what=f"{m}x{n}x{k} {ta} {tb}")


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, -2.0), (-1.5, 0.25), (0.0, 3.0), (2.0, 0.0)])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (17, 33, 65), (40, 70, 600), (9, 32, 3000)])
def test_gemm_alpha_beta(rng, m, n, k, alpha, beta):
    for ta, tb in [(False, False), (True, True)]:
        a, b = operands(rng, m, n, k, ta, tb)
        c = rng.standard_normal((m, n)).astype(np.float32)
        got = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta)
        assert_gemm_close(got, a, b, c, ta, tb, alpha, beta)
        assert_close(_C.gemm_reference(a, b, c, ta, tb, alpha, beta), ref_gemm(a, b, c, ta, tb, alpha, beta),
                     rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (13, 31, 257), (300, 40, 50), (9, 32, 3000), (3, 600, 50)])
def test_beta_zero_never_reads_c(rng, m, n, k):
    a, b = operands(rng, m, n, k, False, False)
    c = np.full((m, n), np.nan, np.float32)
    got = kernels.gemm(a, b, c, alpha=1.0, beta=0.0)
    assert np.isfinite(got).all()
    assert_gemm_close(got, a, b)
    assert np.isnan(c).all()  # c itself is untouched


def test_k_zero_and_empty_shapes(rng):
    a, b = np.zeros((3, 0), np.float32), np.zeros((0, 4), np.float32)
    assert (kernels.gemm(a, b) == 0).all() and kernels.gemm(a, b).shape == (3, 4)
    c = rng.standard_normal((3, 4)).astype(np.float32)
    assert_close(kernels.gemm(a, b, c, alpha=2.0, beta=0.5), 0.5 * c.astype(np.float64))
    assert (kernels.gemm(a, b, np.full((3, 4), np.nan, np.float32)) == 0).all()
    assert kernels.gemm(np.zeros((0, 5), np.float32), np.ones((5, 4), np.float32)).shape == (0, 4)
    assert kernels.gemm(np.ones((3, 5), np.float32), np.ones((5, 0), np.float32)).shape == (3, 0)
    assert kernels.gemm(np.zeros((5, 0), np.float32), np.ones((4, 5), np.float32), trans_a=True, trans_b=True).shape == (0, 4)


def test_nan_and_inf_in_inputs_propagate(rng):
    a, b = operands(rng, 20, 40, 300, False, False)
    a[3, 7] = np.nan
    b[11, 33] = np.inf
    got = kernels.gemm(a, b)
    assert np.isnan(got[3]).all()
    others = np.delete(got, 3, axis=0)
    assert np.isinf(others[:, 33]).all() or np.isnan(others[:, 33]).any()
    assert np.isfinite(np.delete(others, 33, axis=1)).all()


def test_threads_and_reference_agree(rng):
    # 1 vs 2 threads take different splits (rows, columns, K); all must match the plain loop
    try:
        for m, n, k in [(300, 40, 50), (32, 64, 1600), (9, 32, 3000), (64, 9, 40)]:
            a, b = operands(rng, m, n, k, True, False)
            forgenet.set_num_threads(1)
            one = kernels.gemm(a, b, trans_a=True)
            forgenet.set_num_threads(2)
            two = kernels.gemm(a, b, trans_a=True)
            assert_close(one, two, rtol=1e-4, atol=1e-4)
            assert_close(two, _C.gemm_reference(a, b, None, True, False, 1.0, 0.0), rtol=1e-4, atol=1e-4)
    finally:
        forgenet.set_num_threads(os.cpu_count() or 1)


def test_noncontiguous_inputs_are_copied(rng):
    a = rng.standard_normal((20, 30)).astype(np.float32)
    b = rng.standard_normal((30, 40)).astype(np.float32)
    assert_gemm_close(kernels.gemm(a[:, ::2], b[::2]), np.ascontiguousarray(a[:, ::2]), np.ascontiguousarray(b[::2]))
    assert_gemm_close(kernels.gemm(a.T, b.T, trans_a=True, trans_b=True), a.T.copy(), b.T.copy(), None, True, True)


def test_gradient_identities_used_by_dense(rng):
    # loss = sum(w * (x @ k)); dloss/dx = w @ k^T = gemm(w, k, trans_b), dloss/dk = x^T @ w = gemm(x, w, trans_a)
    x, k, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((3, 5))
    dx = kernels.gemm(w.astype(np.float32), k.astype(np.float32), trans_b=True)
    dk = kernels.gemm(x.astype(np.float32), w.astype(np.float32), trans_a=True)
    loss = lambda x_, k_: (w * (x_ @ k_)).sum()  # noqa: E731
    eps = 1e-6
    for arr, grad, f in [(x, dx, lambda v: loss(v, k)), (k, dk, lambda v: loss(x, v))]:
        num = np.zeros_like(arr)
        for idx in np.ndindex(*arr.shape):
            p, q = arr.copy(), arr.copy()
            p[idx] += eps
            q[idx] -= eps
            num[idx] = (f(p) - f(q)) / (2 * eps)
        assert_close(grad, num, rtol=1e-4, atol=1e-5)


_ISA_SCRIPT = r"""
import json, sys
import numpy as np
import forgenet
from forgenet import _C
rng = np.random.default_rng(1)
shapes = [(1, 1, 1), (7, 5, 3), (17, 33, 65), (13, 31, 257), (300, 40, 50), (9, 32, 1200), (32, 64, 600), (3, 600, 40),
          (1024, 20, 1024), (40, 7, 90), (32, 500, 170), (64, 96, 40)]
worst = 0.0
for threads in (1, 2):
    forgenet.set_num_threads(threads)
    for m, n, k in shapes:
        for ta in (False, True):
            for tb in (False, True):
                a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
                b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
                c = np.full((m, n), np.nan, np.float32)
                for alpha, beta in ((1.0, 0.0), (0.5, -2.0)):
                    if beta:
                        c = rng.standard_normal((m, n)).astype(np.float32)
                    got = _C.gemm(a, b, c, ta, tb, alpha, beta).astype(np.float64)
                    A, B = (a.T if ta else a).astype(np.float64), (b.T if tb else b).astype(np.float64)
                    want = alpha * A @ B + beta * np.nan_to_num(c.astype(np.float64))
                    scale = abs(alpha) * np.abs(A) @ np.abs(B) + abs(beta) * np.abs(np.nan_to_num(c))
                    worst = max(worst, float((np.abs(got - want) / scale).max()))
                packed = _C.gemm_pack_b(b, tb)
                got = _C.gemm(a, packed, c, ta, False, 0.5, -2.0).astype(np.float64)
                worst = max(worst, float((np.abs(got - want) / scale).max()))
tiles = sorted({_C.gemm_kernel(m, n)[1:] for m, n, k in shapes})
print(json.dumps({"kernel": _C.gemm_kernel()[0], "isa": _C.isa(), "worst": worst, "tiles": tiles}))
"""


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_isa_path(isa):
    order = ["generic", "avx2", "avx512"]
    native = json.loads(subprocess.run([sys.executable, "-c", "import json; from forgenet import _C; print(json.dumps(_C.isa()))"],
                                       capture_output=True, text=True, check=True).stdout)
    if order.index(isa) > order.index(native):
        pytest.skip(f"this CPU tops out at {native}")
    env = dict(os.environ, FORGENET_ISA=isa, OPENBLAS_NUM_THREADS="1")  # the float64 reference needs no threads
    out = subprocess.run([sys.executable, "-c", _ISA_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["kernel"] == isa and res["isa"] == isa
    assert res["worst"] < 1e-4, res
    # the shapes above picked every tile this ISA offers, so every micro-kernel was checked
    assert len(res["tiles"]) == {"generic": 1, "avx2": 4, "avx512": 3}[isa], res


@pytest.mark.parametrize("args,kwargs,exc,msg", [
    ((np.zeros((2, 3)), np.zeros((3, 4), np.float32)), {}, TypeError, "gemm: a must be float32, got float64"),
    ((np.zeros((2, 3), np.float32), np.zeros((3, 4), np.int32)), {}, TypeError, "gemm: b must be float32, got int32"),
    ((np.zeros(3, np.float32), np.zeros((3, 4), np.float32)), {}, ValueError, r"gemm: a must have rank 2, got shape \(3,\)"),
    ((np.zeros((2, 3), np.float32), np.zeros((1, 3, 4), np.float32)), {}, ValueError, r"gemm: b must have rank 2, got shape \(1, 3, 4\)"),
    ((np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32)), {}, ValueError,
     r"gemm: inner dimensions must match, got op\(a\) of shape \(2, 3\) and op\(b\) of shape \(4, 5\)"),
    ((np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32)), {"trans_a": True}, ValueError,
     r"gemm: inner dimensions must match, got op\(a\) of shape \(3, 2\) and op\(b\) of shape \(3, 4\)"),
    ((np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32), np.zeros((4, 2), np.float32)), {"beta": 1.0}, ValueError,
     r"gemm: c must have shape \(2, 4\) to match op\(a\) @ op\(b\), got \(4, 2\)"),
    ((np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32), np.zeros((2, 4), np.float64)), {"beta": 1.0}, TypeError,
     "gemm: c must be float32, got float64"),
    ((np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32)), {"beta": 2.0}, ValueError, r"gemm: c is required when beta != 0"),
])
def test_bad_inputs(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        kernels.gemm(*args, **kwargs)
    full = list(args) + [None] * (3 - len(args))
    with pytest.raises(exc, match=msg):  # the C++ side checks too
        _C.gemm(*full, kwargs.get("trans_a", False), kwargs.get("trans_b", False), 1.0, kwargs.get("beta", 0.0))


def test_bad_flags_and_scalars_and_layout():
    a, b = np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32)
    with pytest.raises(TypeError, match="gemm: trans_a must be a bool, got 'yes'"):
        kernels.gemm(a, b, trans_a="yes")
    with pytest.raises(TypeError, match="gemm: alpha must be a real number, got None"):
        kernels.gemm(a, b, alpha=None)
    assert kernels.gemm(a, b, trans_a=np.bool_(False), alpha=np.float32(2), beta=0).shape == (2, 4)
    with pytest.raises(ValueError, match="gemm: a must be C-contiguous"):
        _C.gemm(np.zeros((3, 4), np.float32)[:, ::2], np.zeros((2, 4), np.float32), None, False, False, 1.0, 0.0)
    with pytest.raises(TypeError, match="gemm: b must be a numpy array, got list"):
        _C.gemm(a, [[1.0]], None, False, False, 1.0, 0.0)
    with pytest.raises(ValueError, match="gemm_reference: inner dimensions must match"):
        _C.gemm_reference(a, a, None, False, False, 1.0, 0.0)


# Skinny products read a row-major A in place (full tiles straight from it, the partial last one packed)
# and B in place or one panel at a time (test_gemm_path_rule); K beyond one block accumulates onto C;
# rows 4 KiB apart (K = 1024) fall back to packing A. Every transpose combination, alpha and beta.
@pytest.mark.parametrize("m,n,k", [(32, 130, 600), (47, 100, 513), (6, 16, 1), (7, 17, 257), (32, 64, 1024),
                                   (1, 1600, 64), (48, 31, 40), (32, 512, 128), (20, 470, 161)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True)])
def test_skinny_gemm_in_place_operands(rng, m, n, k, ta, tb):
    a, b = operands(rng, m, n, k, ta, tb)
    c = rng.standard_normal((m, n)).astype(np.float32)
    got = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.5, beta=-1.5)
    assert_gemm_close(got, a, b, c, ta, tb, 0.5, -1.5, what=f"{m}x{n}x{k} {ta} {tb}")


# gemm_pack_b: op(b) packed once, then used in place of b. Edge shapes: M, N, K off the tiles (6x16,
# 12x8 for N = 8 or 24), K = 1, N = 1, M = 1, K beyond one K block (several blocks of packed panels), N
# beyond one column block, M beyond one row block.
PACKED_SHAPES = [(1, 1, 1), (7, 17, 1), (9, 1, 40), (1, 40, 9), (13, 31, 257), (6, 16, 256), (5, 8, 70),
                 (37, 24, 600), (300, 40, 50), (20, 1030, 64), (150, 530, 513), (32, 500, 170), (64, 1000, 330)]


@pytest.mark.parametrize("m,n,k", PACKED_SHAPES)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_packed_b_matches_unpacked_and_reference(rng, m, n, k, ta, tb):
    a, b = operands(rng, m, n, k, ta, tb)
    packed = kernels.gemm_pack_b(b, trans_b=tb)
    assert packed.shape == (k, n) and packed.trans_b == tb
    got = kernels.gemm(a, packed, trans_a=ta)
    assert_gemm_close(got, a, b, None, ta, tb, what=f"{m}x{n}x{k} {ta} {tb}")
    # (the unpacked call may sum K in another order: another tile, a K split)
    assert_close(got, kernels.gemm(a, b, trans_a=ta, trans_b=tb), rtol=1e-4, atol=1e-5 * np.sqrt(k) * 4)


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, -2.0), (0.0, 3.0), (2.0, 0.0)])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (13, 31, 257), (40, 70, 600)])
def test_packed_b_alpha_beta_c_and_out(rng, m, n, k, alpha, beta):
    for ta, tb in [(False, False), (True, True)]:
        a, b = operands(rng, m, n, k, ta, tb)
        packed = kernels.gemm_pack_b(b, trans_b=tb)
        c = rng.standard_normal((m, n)).astype(np.float32)
        c0 = c.copy()
        got = kernels.gemm(a, packed, c, trans_a=ta, alpha=alpha, beta=beta)
        assert_gemm_close(got, a, b, c, ta, tb, alpha, beta)
        assert (c == c0).all()
        out = np.empty((m, n), np.float32)
        assert kernels.gemm(a, packed, c, trans_a=ta, alpha=alpha, beta=beta, out=out) is out
        assert_close(out, got, rtol=0, atol=0)
        inplace = kernels.gemm(a, packed, c, trans_a=ta, alpha=alpha, beta=beta, out=c)  # BLAS's C in, C out
        assert inplace is c
        assert_close(c, got, rtol=0, atol=0)
    a, b = operands(rng, 9, 20, 30, False, False)
    nan_c = np.full((9, 20), np.nan, np.float32)
    assert np.isfinite(kernels.gemm(a, kernels.gemm_pack_b(b), nan_c, beta=0.0)).all()


def test_packed_b_is_a_reusable_copy_and_k_zero(rng):
    a1, b = operands(rng, 30, 50, 70, False, False)
    a2 = rng.standard_normal((11, 70)).astype(np.float32)
    packed = kernels.gemm_pack_b(b)
    want1, want2 = kernels.gemm(a1, b), kernels.gemm(a2, b)
    b[:] = 0.0  # packing copied b
    for _ in range(3):
        assert_close(kernels.gemm(a1, packed), want1, rtol=1e-5, atol=1e-5)
        assert_close(kernels.gemm(a2, packed), want2, rtol=1e-5, atol=1e-5)
    empty = kernels.gemm_pack_b(np.zeros((0, 4), np.float32))
    assert (kernels.gemm(np.zeros((3, 0), np.float32), empty) == 0).all()
    c = rng.standard_normal((3, 4)).astype(np.float32)
    assert_close(kernels.gemm(np.zeros((3, 0), np.float32), empty, c, alpha=2.0, beta=0.5), 0.5 * c.astype(np.float64))
    assert kernels.gemm(np.zeros((0, 5), np.float32), kernels.gemm_pack_b(np.ones((5, 4), np.float32))).shape == (0, 4)
    assert kernels.gemm(np.ones((3, 5), np.float32), kernels.gemm_pack_b(np.ones((5, 0), np.float32))).shape == (3, 0)


def test_packed_b_threads_agree(rng):
    # with a packed b the threads split rows or columns (never K: the packed K blocks are fixed)
    try:
        for m, n, k in [(300, 40, 50), (9, 1030, 64), (32, 64, 1600), (1280, 64, 64)]:
            a, b = operands(rng, m, n, k, False, True)
            packed = kernels.gemm_pack_b(b, trans_b=True)
            forgenet.set_num_threads(1)
            one = kernels.gemm(a, packed)
            forgenet.set_num_threads(2)
            two = kernels.gemm(a, packed)
            assert_close(one, two, rtol=1e-5, atol=1e-5)
            assert_gemm_close(two, a, b, None, False, True)
    finally:
        forgenet.set_num_threads(os.cpu_count() or 1)


def test_packed_b_description_and_no_pickling():
    import copy
    import pickle

    b = np.ones((70, 24), np.float32)
    packed = kernels.gemm_pack_b(b)
    assert isinstance(packed, kernels.PackedB)
    isa, mr, nr = _C.gemm_kernel(1 << 30, 24)
    assert (packed.isa, packed.tile) == (_C.isa(), f"{mr}x{nr}")
    assert packed.nbytes == 70 * (-(-24 // nr) * nr) * 4
    assert repr(packed) == f"PackedB(shape=(70, 24), trans_b=False, isa='{isa}', tile='{mr}x{nr}')"
    assert kernels.gemm_pack_b(b.T.copy(), trans_b=True).shape == (70, 24)
    for dump in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="PackedB: a packed b is bound to this process's kernels and cannot be pickled"):
            dump(packed)
    with pytest.raises(TypeError):
        kernels.PackedB()  # only gemm_pack_b makes one


def test_packed_b_bad_inputs():
    a = np.zeros((2, 3), np.float32)
    packed = kernels.gemm_pack_b(np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"gemm: inner dimensions must match, got op\(a\) of shape \(2, 3\) and the "
                                         r"packed b of shape \(4, 5\)"):
        kernels.gemm(a, packed)
    with pytest.raises(ValueError, match="gemm: trans_b must be False with a PackedB b"):
        kernels.gemm(np.zeros((2, 4), np.float32), packed, trans_b=True)
    with pytest.raises(TypeError, match="gemm: a must be float32, got float64"):
        kernels.gemm(np.zeros((2, 4)), packed)
    with pytest.raises(ValueError, match=r"gemm: c must have shape \(2, 5\) to match op\(a\) @ op\(b\), got \(5, 2\)"):
        kernels.gemm(np.zeros((2, 4), np.float32), packed, np.zeros((5, 2), np.float32), beta=1.0)
    with pytest.raises(ValueError, match="gemm: c is required when beta != 0"):
        kernels.gemm(np.zeros((2, 4), np.float32), packed, beta=1.0)
    with pytest.raises(ValueError, match=r"gemm: out must have shape \(2, 5\)"):
        kernels.gemm(np.zeros((2, 4), np.float32), packed, out=np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match="gemm_pack_b: b must be float32, got float64"):
        kernels.gemm_pack_b(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"gemm_pack_b: b must have rank 2, got shape \(4,\)"):
        kernels.gemm_pack_b(np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="gemm_pack_b: trans_b must be a bool"):
        kernels.gemm_pack_b(np.zeros((4, 5), np.float32), trans_b="no")
    with pytest.raises(TypeError, match="gemm_pack_b: b must be"):
        kernels.gemm_pack_b(None)


def test_packed_b_from_another_isa_is_refused(rng):
    # best_isa() is fixed per process (and a PackedB cannot be pickled into another one), so the only way
    # to hold panels of another ISA here is the binding's test-only isa argument
    b = rng.standard_normal((30, 20)).astype(np.float32)
    if _C.isa() == "generic":
        pytest.skip("this process runs the generic kernels: there is no other ISA to pack for")
    other = _C.gemm_pack_b(b, False, "generic")
    assert other.isa == "generic" and other.tile == "4x8"
    with pytest.raises(ValueError, match=f"gemm: b was packed for the generic kernels, but this process runs {_C.isa()} "
                                         r"\(FORGENET_ISA or the CPU differs\): pack it again with gemm_pack_b"):
        kernels.gemm(np.zeros((3, 30), np.float32), other)
    with pytest.raises(ValueError, match="gemm_pack_b: isa must be None, 'generic', 'avx2' or 'avx512', got 'avx9'"):
        _C.gemm_pack_b(b, False, "avx9")
    if _C.isa() == "avx2":
        with pytest.raises(ValueError, match="gemm_pack_b: isa 'avx512' is beyond this process's avx2"):
            _C.gemm_pack_b(b, False, "avx512")


def test_packed_b_refuses_cupy_and_mixed_devices():
    class FakeCupy:  # what _kind sees of a CuPy array (type's module): the refusal needs no GPU
        pass

    FakeCupy.__module__ = "cupy._core.core"
    with pytest.raises(NotImplementedError, match="gemm_pack_b: CuPy arrays are not supported"):
        kernels.gemm_pack_b(FakeCupy())
    packed = kernels.gemm_pack_b(np.zeros((4, 5), np.float32))
    with pytest.raises(TypeError, match="gemm: a PackedB b runs on the CPU kernels only"):
        kernels.gemm(FakeCupy(), packed)


# Where B comes from (_C._gemm_path): in place for one row of tiles, one panel packed just before its use
# (a "sliver") up to one block of rows (the kernel's mc), a packed block beyond; a PackedB is read as is.
# M runs 1..70 and around mc, so every boundary between the sources is crossed, with every transpose.
MC = {"generic": 128, "avx2": 144, "avx512": 144}  # the kernels' row blocks (isa/gemm_kernels.cpp)


def _tile_rows(m, n):
    return _C.gemm_kernel(m, n)[1]


def test_gemm_path_rule():
    forgenet.set_num_threads(1)
    try:
        for m in list(range(1, 71)) + [143, 144, 145, 150, 300]:
            for n in (1, 24, 64, 512):
                mr = _tile_rows(m, n)
                path = _C._gemm_path(m, n, 128)
                assert path["threads"] == 1 and path["split"] == "serial", path
                assert path["tile"] == "{}x{}".format(*_C.gemm_kernel(m, n)[1:]), path
                want = "in_place" if m <= mr else "sliver" if m <= MC[_C.isa()] else "block"
                assert path["b"] == want, (m, n, path)
                assert _C._gemm_path(m, n, 128, trans_b=True)["b"] == ("block" if want == "block" else "sliver")
                assert _C._gemm_path(m, n, 128, packed=True)["b"] == "packed"
    finally:
        forgenet.set_num_threads(os.cpu_count() or 1)
    with pytest.raises(ValueError, match=r"_gemm_path: m, n and k must be positive, got \(0, 3, 4\)"):
        _C._gemm_path(0, 3, 4)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 23, 24, 25, 31, 32, 33, 47, 48, 49, 64, 70,
                               143, 144, 145])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_every_b_source_around_its_thresholds(rng, m, ta, tb):
    # N off every panel width (and one partial panel), K over one block (several K blocks accumulate)
    for n, k in [(53, 37), (70, 300)]:
        a, b = operands(rng, m, n, k, ta, tb)
        c = rng.standard_normal((m, n)).astype(np.float32)
        got = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.75, beta=0.5)
        assert_gemm_close(got, a, b, c, ta, tb, 0.75, 0.5, what=f"{m}x{n}x{k} {ta} {tb} {_C._gemm_path(m, n, k, ta, tb)}")


def test_gemm_k_one_and_n_one_on_each_source(rng):
    for m in (1, 5, 32, 150):
        for n, k in [(1, 1), (1, 40), (40, 1), (600, 1)]:
            for tb in (False, True):
                a, b = operands(rng, m, n, k, False, tb)
                assert_gemm_close(kernels.gemm(a, b, trans_b=tb), a, b, None, False, tb, what=f"{m}x{n}x{k} {tb}")


def test_two_thread_splits_on_small_products(rng):
    # each split (rows, columns, K) at 2 threads matches the 1-thread result and the float64 reference
    seen = set()
    try:
        for m, n, k in [(32, 512, 128), (32, 64, 1600), (16, 16, 9000), (1280, 512, 64), (600, 30, 64), (5, 2000, 40)]:
            a, b = operands(rng, m, n, k, False, False)
            forgenet.set_num_threads(2)
            path = _C._gemm_path(m, n, k)
            seen.add(path["split"])
            two = kernels.gemm(a, b)
            assert_gemm_close(two, a, b, what=f"{m}x{n}x{k} {path}")
            forgenet.set_num_threads(1)
            assert_close(kernels.gemm(a, b), two, rtol=1e-4, atol=1e-4 * np.sqrt(k))
    finally:
        forgenet.set_num_threads(os.cpu_count() or 1)
    if (os.cpu_count() or 1) >= 2:
        assert {"rows", "cols", "depth"} <= seen, seen


# A row split over threads: each thread packs its own B blocks while op(B) is small (up to 2**20 floats),
# beyond it each kc x nc block is packed once for all ("shared") and the threads claim chunks of rows.
# Either way every element is computed as the serial loops compute it (same tile, same K blocks), so 1
# and 2 threads agree bit for bit. M runs across the 2-thread threshold of the block (6 x 16: 288 rows is
# 144 a thread, one block) and over partial tiles.
def _expected_b_at_two_threads(m, n, k, ta, tb):
    mr, nr = _C.gemm_kernel(m, n)[1:]
    per_thread = -(-(-(-m // mr)) // 2) * mr
    if per_thread > MC[_C.isa()]:
        return "shared" if k * -(-n // nr) * nr > 2**20 else "block"
    return "sliver" if tb or m > mr else "in_place"


@pytest.mark.parametrize("m", [287, 288, 289, 290, 300, 577, 1001])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_row_split_matches_one_thread_bit_for_bit(rng, m, ta, tb):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 cores")
    try:
        for n, k in [(53, 37), (70, 300)]:
            a, b = operands(rng, m, n, k, ta, tb)
            c = rng.standard_normal((m, n)).astype(np.float32)
            forgenet.set_num_threads(2)
            path = _C._gemm_path(m, n, k, ta, tb)
            if path["split"] == "rows":
                assert path["b"] == _expected_b_at_two_threads(m, n, k, ta, tb), (m, n, k, path)
            two = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.75, beta=0.5)
            forgenet.set_num_threads(1)
            one = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.75, beta=0.5)
            assert_gemm_close(two, a, b, c, ta, tb, 0.75, 0.5, what=f"{m}x{n}x{k} {path}")
            if path["split"] == "rows":
                np.testing.assert_array_equal(two, one, err_msg=f"{m}x{n}x{k} {path}")
    finally:
        forgenet.set_num_threads(os.cpu_count() or 1)


def test_shared_b_is_taken_by_large_square_products():
    if (os.cpu_count() or 1) < 2 or _C.isa() != "avx2":
        pytest.skip("needs 2 cores and the AVX2 tiles")
    try:
        forgenet.set_num_threads(2)
        assert _C._gemm_path(2048, 2048, 2048) == {"tile": "6x16", "threads": 2, "split": "rows", "b": "shared"}
        for m, n, k in [(1280, 512, 64), (3136, 64, 576)]:
            assert _C._gemm_path(m, n, k) == {"tile": "6x16", "threads": 2, "split": "rows", "b": "block"}
        # a PackedB's row split keeps its panels (and claims chunks of rows too)
        assert _C._gemm_path(1280, 512, 64, packed=True)["b"] == "packed"
    finally:
        forgenet.set_num_threads(os.cpu_count() or 1)


@pytest.mark.parametrize("k", [1024, 1025])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
def test_shared_b_threshold_matches_one_thread_bit_for_bit(rng, k, ta, tb):
    # 300 x 1024 x 1024: op(B) is 2**20 floats, each thread packs its own (and the columns split); one K row
    # more and it is shared, its last K block one row deep
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 cores")
    m, n = 300, 1024
    a, b = operands(rng, m, n, k, ta, tb)
    c = rng.standard_normal((m, n)).astype(np.float32)
    try:
        forgenet.set_num_threads(2)
        path = _C._gemm_path(m, n, k, ta, tb)
        two = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=-1.5, beta=0.25)
        forgenet.set_num_threads(1)
        one = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=-1.5, beta=0.25)
    finally:
        forgenet.set_num_threads(os.cpu_count() or 1)
    if _C.isa() == "avx2":
        assert (path["b"] == "shared") == (k > 1024), path
        assert k == 1024 or path == {"tile": "6x16", "threads": 2, "split": "rows", "b": "shared"}, path
    assert_gemm_close(two, a, b, c, ta, tb, -1.5, 0.25, what=f"{m}x{n}x{k} {path}")
    if path["split"] == "rows":
        np.testing.assert_array_equal(two, one)

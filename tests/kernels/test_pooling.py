import numpy as np
import pytest

from forgenet import _C, kernels

from support import assert_close


def same_pads(size, k, s):
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def windows(x, pool, strides, padding, fill):
    """Yields (oh, ow, window slice into the padded x) and returns the padded x and pads, in float64."""
    x = x.astype(np.float64)
    pads = ((0, 0), (0, 0))
    if padding == "same":
        pads = (same_pads(x.shape[1], pool[0], strides[0]), same_pads(x.shape[2], pool[1], strides[1]))
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    ho, wo = (xp.shape[1] - pool[0]) // strides[0] + 1, (xp.shape[2] - pool[1]) // strides[1] + 1
    cells = [(i, j, (slice(None), slice(i * strides[0], i * strides[0] + pool[0]),
                     slice(j * strides[1], j * strides[1] + pool[1])))
             for i in range(ho) for j in range(wo)]
    return xp, (pads[0][0], pads[1][0]), (ho, wo), cells


def ref_pool(x, pool, strides, padding, kind):
    xp, _, (ho, wo), cells = windows(x, pool, strides, padding, -np.inf if kind == "max" else 0.0)
    ones, *_ = windows(np.ones_like(x[:1, ..., :1]), pool, strides, padding, 0.0)
    y = np.zeros((x.shape[0], ho, wo, x.shape[3]))
    for i, j, sl in cells:
        y[:, i, j] = xp[sl].max((1, 2)) if kind == "max" else xp[sl].sum((1, 2)) / ones[sl].sum()
    return y


def ref_pool_backward(dy, x, pool, strides, padding, kind):
    n, h, w, c = x.shape
    xp, (pt, pl), _, cells = windows(x, pool, strides, padding, -np.inf if kind == "max" else 0.0)
    ones, *_ = windows(np.ones_like(x[:1, ..., :1]), pool, strides, padding, 0.0)
    dxp = np.zeros_like(xp)
    for i, j, sl in cells:
        if kind == "max":  # the first maximum in row-major window order (np.argmax's rule)
            win = xp[sl].reshape(n, -1, c)
            first = win.argmax(1)
            grad = np.zeros_like(win)
            np.put_along_axis(grad, first[:, None], dy[:, i, j][:, None].astype(np.float64), 1)
            dxp[sl] += grad.reshape(xp[sl].shape)
        else:
            dxp[sl] += dy[:, i, j][:, None, None].astype(np.float64) / ones[sl].sum()
    return dxp[:, pt:pt + h, pl:pl + w]


# (N, H, W, C, pool, strides, padding)
CASES = [
    (2, 4, 4, 3, (2, 2), None, "valid"),
    (1, 5, 7, 1, (2, 2), None, "same"),
    (3, 7, 6, 5, (3, 3), None, "valid"),
    (2, 7, 7, 4, (3, 3), (1, 1), "same"),     # overlapping windows
    (2, 9, 8, 3, (3, 3), (2, 2), "valid"),    # overlapping windows, stride 2
    (1, 6, 9, 2, (2, 3), None, "same"),
    (2, 8, 7, 6, (2, 3), (1, 2), "same"),
    (1, 5, 5, 3, (2, 2), (3, 3), "valid"),    # stride larger than the pool: gaps
    (2, 5, 4, 3, (1, 1), (2, 2), "same"),
    (1, 3, 2, 4, (4, 3), (1, 1), "same"),     # pool larger than the input
    (32, 26, 26, 32, (2, 2), None, "valid"),  # the article's pools
    (32, 11, 11, 64, (2, 2), None, "valid"),
]
KINDS = {"max": (kernels.max_pool2d, kernels.max_pool2d_backward), "avg": (kernels.avg_pool2d, kernels.avg_pool2d_backward)}


def effective_strides(pool, strides):
    return pool if strides is None else strides


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_pool_forward_and_backward_match_reference(rng, kind, case):
    n, h, w, c, pool, strides, padding = case
    fwd, bwd = KINDS[kind]
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    s = effective_strides(pool, strides)
    y = fwd(x, pool, strides, padding)
    assert_close(y, ref_pool(x, pool, s, padding, kind), rtol=1e-6, atol=1e-6, what=f"{kind} forward {case}")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    assert_close(bwd(dy, x, pool, strides, padding), ref_pool_backward(dy, x, pool, s, padding, kind),
                 rtol=1e-5, atol=1e-6, what=f"{kind} backward {case}")


@pytest.mark.parametrize("case", CASES[:10], ids=str)
def test_pool_matches_torch(rng, case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    n, h, w, c, pool, strides, padding = case
    s = effective_strides(pool, strides)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    pads = (0, 0, 0, 0)
    if padding == "same":
        (pt, pb), (pl, pr) = same_pads(h, pool[0], s[0]), same_pads(w, pool[1], s[1])
        pads = (pl, pr, pt, pb)
    nhwc = lambda t: t.permute(0, 2, 3, 1).numpy()  # noqa: E731
    xt = torch.tensor(x, dtype=torch.float64).permute(0, 3, 1, 2).requires_grad_()
    # max: pad with -inf; avg: sum-pool the zero-padded input and divide by the count of real elements.
    ym = F.max_pool2d(F.pad(xt, pads, value=-float("inf")), pool, s)
    ones = torch.ones_like(xt[:1, :1])
    ya = F.avg_pool2d(F.pad(xt, pads), pool, s) / F.avg_pool2d(F.pad(ones, pads), pool, s)
    y = kernels.max_pool2d(x, pool, strides, padding)
    assert_close(y, nhwc(ym.detach()), rtol=1e-6, atol=1e-6, what=f"max {case}")
    assert_close(kernels.avg_pool2d(x, pool, strides, padding), nhwc(ya.detach()), rtol=1e-5, atol=1e-6, what=f"avg {case}")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dyt = torch.tensor(dy, dtype=torch.float64).permute(0, 3, 1, 2)
    (gm,) = torch.autograd.grad((ym * dyt).sum(), xt)
    (ga,) = torch.autograd.grad((ya * dyt).sum(), xt)
    assert_close(kernels.max_pool2d_backward(dy, x, pool, strides, padding), nhwc(gm), rtol=1e-5, atol=1e-6, what="max dx")
    assert_close(kernels.avg_pool2d_backward(dy, x, pool, strides, padding), nhwc(ga), rtol=1e-5, atol=1e-6, what="avg dx")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pool,strides,padding", [((2, 2), None, "same"), ((3, 2), (1, 2), "valid"),
                                                  ((3, 3), (2, 1), "same")])
def test_pool_backward_matches_finite_differences(rng, kind, pool, strides, padding):
    fwd, bwd = KINDS[kind]
    s = effective_strides(pool, strides)
    x = rng.permutation(np.arange(2 * 5 * 5 * 2)).reshape(2, 5, 5, 2) / 10.0  # distinct: no ties
    dy = rng.standard_normal(ref_pool(x, pool, s, padding, kind).shape)
    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = ((ref_pool(xp, pool, s, padding, kind) - ref_pool(xm, pool, s, padding, kind)) * dy).sum() / (2 * eps)
    dx = bwd(dy.astype(np.float32), x.astype(np.float32), pool, strides, padding)
    assert_close(dx, num, rtol=1e-4, atol=1e-5)


def test_max_pool_ties_go_to_the_first_element_and_overlaps_accumulate():
    x = np.ones((1, 4, 4, 2), np.float32)
    dx = kernels.max_pool2d_backward(np.ones((1, 2, 2, 2), np.float32), x)
    expect = np.zeros((4, 4))
    expect[::2, ::2] = 1  # the top-left of each 2x2 window
    assert (dx[0, :, :, 0] == expect).all() and (dx[0, :, :, 1] == expect).all()
    # 3x3 windows at stride 1 over a constant 4x4: the first elements of the 2x2 windows' grid
    dx = kernels.max_pool2d_backward(np.ones((1, 2, 2, 1), np.float32), x[..., :1], 3, 1)
    expect = np.zeros((4, 4))
    expect[:2, :2] = 1
    assert (dx[0, :, :, 0] == expect).all()
    # every window of a 3x3 stride-1 'same' pool over a constant input sends its gradient to its first
    # real element; counted by hand, the top-left pixel is first for 4 windows.
    dx = kernels.max_pool2d_backward(np.ones((1, 4, 4, 1), np.float32), x[..., :1], 3, 1, "same")
    assert dx.sum() == 16 and dx[0, 0, 0, 0] == 4


def test_max_pool_nan_propagates_and_takes_the_gradient():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    x[0, 1, 0, 0] = np.nan
    y = kernels.max_pool2d(x)
    assert np.isnan(y[0, 0, 0, 0]) and np.isfinite(y[0].ravel()[1:]).all()
    dx = kernels.max_pool2d_backward(np.ones_like(y), x)
    assert dx[0, 1, 0, 0] == 1 and dx[0, :2, :2].sum() == 1
    a = kernels.avg_pool2d(x)
    assert np.isnan(a[0, 0, 0, 0]) and np.isfinite(a[0].ravel()[1:]).all()


def test_avg_pool_same_divides_by_real_elements():
    x = np.ones((1, 5, 5, 1), np.float32)
    assert (kernels.avg_pool2d(x, 2, padding="same") == 1).all()  # padding would pull the edge down otherwise
    assert (kernels.avg_pool2d(x, 3, 1, padding="same") == 1).all()


def test_pool_empty_batch_defaults_and_noncontiguous(rng):
    x = np.zeros((0, 5, 5, 3), np.float32)
    for fwd, bwd in KINDS.values():
        y = fwd(x, padding="same")
        assert y.shape == (0, 3, 3, 3) and bwd(y, x, padding="same").shape == x.shape
    for fwd, bwd in KINDS.values():  # no channels, no rows
        x = np.zeros((2, 4, 4, 0), np.float32)
        assert fwd(x).shape == (2, 2, 2, 0) and bwd(np.zeros((2, 2, 2, 0), np.float32), x).shape == x.shape
        x = np.zeros((2, 0, 4, 3), np.float32)
        assert fwd(x, padding="same").shape == (2, 0, 2, 3)
    x = rng.standard_normal((2, 8, 10, 3)).astype(np.float32)
    assert kernels.max_pool2d(x).shape == (2, 4, 5, 3)  # strides default to pool_size
    xs = x[:, :, ::2]
    assert_close(kernels.max_pool2d(xs, 2), ref_pool(xs, (2, 2), (2, 2), "valid", "max"), rtol=0, atol=0)
    with pytest.raises(ValueError, match="max_pool2d: x must be C-contiguous"):
        _C.max_pool2d(xs)


def test_pool_backward_is_deterministic_with_overlap(rng):
    x = rng.standard_normal((8, 17, 17, 16)).astype(np.float32)
    dy = rng.standard_normal((8, 17, 17, 16)).astype(np.float32)
    for bwd in (kernels.max_pool2d_backward, kernels.avg_pool2d_backward):
        np.testing.assert_array_equal(bwd(dy, x, 3, 1, "same"), bwd(dy, x, 3, 1, "same"))


BAD = [
    (dict(x=np.zeros((2, 4, 4), np.float32)), ValueError, r"{op}: x must have rank 4, got shape \(2, 4, 4\)"),
    (dict(x=np.zeros((2, 4, 4, 3))), TypeError, "{op}: x must be float32, got float64"),
    (dict(x=np.zeros((2, 4, 4, 3), np.int32)), TypeError, "{op}: x must be float32, got int32"),
    (dict(pool_size=(0, 2)), ValueError, r"{op}: pool_size must be positive, got \(0, 2\)"),
    (dict(pool_size=-1), ValueError, r"{op}: pool_size must be positive, got \(-1, -1\)"),
    (dict(strides=(1, 0)), ValueError, r"{op}: strides must be positive, got \(1, 0\)"),
    (dict(strides="2"), ValueError, r"{op}: strides must be an int or a pair of ints"),
    (dict(padding="causal"), ValueError, r"{op}: padding must be 'valid' or 'same', got 'causal'"),
    (dict(pool_size=(5, 2)), ValueError, r"{op}: pool_size \(5, 2\) larger than input \(4, 4\)"),
]


@pytest.mark.parametrize("bad,exc,msg", BAD, ids=[m for _, _, m in BAD])
@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_pool_rejects_bad_input(op, bad, exc, msg):
    args = dict(x=np.zeros((2, 4, 4, 3), np.float32), pool_size=(2, 2), strides=None, padding="valid") | bad
    for fn in (getattr(kernels, op), getattr(_C, op)):
        with pytest.raises(exc, match=msg.format(op=op)):
            fn(args["x"], args["pool_size"], args["strides"], args["padding"])
    bop = op + "_backward"
    dy = np.zeros((2, 2, 2, 3), np.float32)
    for fn in (getattr(kernels, bop), getattr(_C, bop)):
        with pytest.raises(exc, match=msg.format(op=bop)):
            fn(dy, args["x"], args["pool_size"], args["strides"], args["padding"])


@pytest.mark.parametrize("op", ["max_pool2d_backward", "avg_pool2d_backward"])
def test_pool_backward_rejects_bad_dy(op):
    x = np.zeros((2, 5, 5, 3), np.float32)
    for fn in (getattr(kernels, op), getattr(_C, op)):
        with pytest.raises(ValueError, match=rf"{op}: dy must have the forward output's shape \(2, 2, 2, 3\), got \(2, 3, 3, 3\)"):
            fn(np.zeros((2, 3, 3, 3), np.float32), x)
        with pytest.raises(ValueError, match=rf"{op}: dy must have the forward output's shape \(2, 3, 3, 3\)"):
            fn(np.zeros((2, 2, 2, 3), np.float32), x, padding="same")
    with pytest.raises(TypeError, match=f"{op}: dy must be float32, got float64"):
        getattr(kernels, op)(np.zeros((2, 2, 2, 3)), x)


_ISA_SCRIPT = r"""
import sys, numpy as np, forgenet
from forgenet import kernels
rng = np.random.default_rng(1)
out = {"isa": np.array(forgenet._C.isa())}
for i, (shape, pool, strides, padding) in enumerate(CASES):
    x = rng.standard_normal(shape).astype(np.float32)
    for kind, fwd, bwd in (("max", kernels.max_pool2d, kernels.max_pool2d_backward), ("avg", kernels.avg_pool2d, kernels.avg_pool2d_backward)):
        y = fwd(x, pool, strides, padding)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        out[f"{i}{kind}x"], out[f"{i}{kind}y"], out[f"{i}{kind}dy"] = x, y, dy
        out[f"{i}{kind}dx"] = bwd(dy, x, pool, strides, padding)
np.savez(sys.argv[1], **out)
"""
ISA_CASES = [((2, 7, 9, 37), (2, 2), None, "valid"), ((1, 8, 7, 20), (3, 3), (1, 1), "same"),
             ((2, 9, 9, 300), (3, 2), (2, 2), "same"), ((3, 5, 6, 1), (2, 3), (1, 2), "valid")]


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_pool_every_isa_path_matches_reference(tmp_path, isa):
    """Each compiled variant (FORGENET_ISA caps the choice at start-up), with channel counts that leave
    vector remainders and exceed the max-pool channel block."""
    import os, subprocess, sys
    env = dict(os.environ, FORGENET_ISA=isa)
    script = f"CASES = {ISA_CASES!r}\n" + _ISA_SCRIPT
    res = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out.npz")], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = np.load(tmp_path / "out.npz")
    if str(out["isa"]) == "generic" and isa != "generic":
        pytest.skip(f"this CPU has no {isa}")
    for i, (shape, pool, strides, padding) in enumerate(ISA_CASES):
        s = effective_strides(pool, strides)
        for kind in ("max", "avg"):
            x, dy = out[f"{i}{kind}x"], out[f"{i}{kind}dy"]
            assert_close(out[f"{i}{kind}y"], ref_pool(x, pool, s, padding, kind), rtol=1e-5, atol=1e-6, what=f"{isa} {kind} {i}")
            assert_close(out[f"{i}{kind}dx"], ref_pool_backward(dy, x, pool, s, padding, kind), rtol=1e-5, atol=1e-6,
                         what=f"{isa} {kind} backward {i}")

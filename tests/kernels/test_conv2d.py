import numpy as np
import pytest

from forgenet import _C, kernels

from support import assert_close


def same_pads(size, k, s):
    """TensorFlow's 'same': (before, after), the odd element after."""
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pad_input(x, kh, kw, strides, padding):
    if padding == "valid":
        return x, (0, 0)
    pt, pb = same_pads(x.shape[1], kh, strides[0])
    pl, pr = same_pads(x.shape[2], kw, strides[1])
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0))), (pt, pl)


def ref_conv2d(x, k, b=None, strides=(1, 1), padding="valid"):
    """Direct convolution in float64: a sum over kernel taps of shifted input slices."""
    x, k = x.astype(np.float64), k.astype(np.float64)
    kh, kw, _, cout = k.shape
    xp, _ = pad_input(x, kh, kw, strides, padding)
    n, hp, wp, _ = xp.shape
    ho, wo = (hp - kh) // strides[0] + 1, (wp - kw) // strides[1] + 1
    y = np.zeros((n, ho, wo, cout))
    for i in range(kh):
        for j in range(kw):
            y += xp[:, i:i + strides[0] * (ho - 1) + 1:strides[0], j:j + strides[1] * (wo - 1) + 1:strides[1]] @ k[i, j]
    return y if b is None else y + b


def ref_conv2d_backward(dy, x, k, strides=(1, 1), padding="valid"):
    dy, x, k = dy.astype(np.float64), x.astype(np.float64), k.astype(np.float64)
    kh, kw, _, _ = k.shape
    n, h, w, _ = x.shape
    xp, (pt, pl) = pad_input(x, kh, kw, strides, padding)
    _, ho, wo, _ = dy.shape
    dxp, dk = np.zeros_like(xp), np.zeros_like(k)
    for i in range(kh):
        for j in range(kw):
            sl = (slice(None), slice(i, i + strides[0] * (ho - 1) + 1, strides[0]),
                  slice(j, j + strides[1] * (wo - 1) + 1, strides[1]))
            dk[i, j] = np.einsum("nhwc,nhwo->co", xp[sl], dy)
            dxp[sl] += dy @ k[i, j].T
    return dxp[:, pt:pt + h, pl:pl + w], dk, dy.sum((0, 1, 2))


# (N, H, W, Cin, KH, KW, Cout, strides, padding)
CASES = [
    (1, 5, 5, 1, 3, 3, 1, (1, 1), "valid"),
    (2, 7, 6, 3, 3, 2, 4, (1, 1), "same"),
    (3, 9, 11, 5, 5, 5, 7, (2, 2), "same"),
    (2, 8, 8, 4, 1, 1, 6, (1, 1), "valid"),   # pointwise: no im2col
    (2, 8, 8, 4, 1, 1, 6, (1, 1), "same"),
    (2, 9, 8, 4, 1, 1, 6, (2, 2), "valid"),   # strided 1x1 goes through im2col
    (1, 6, 7, 2, 4, 4, 3, (1, 2), "same"),    # even kernel: extra pad bottom/right
    (2, 10, 9, 16, 3, 3, 8, (2, 1), "valid"),
    (1, 3, 3, 2, 5, 5, 2, (1, 1), "same"),    # kernel larger than the input
    (2, 6, 7, 3, 2, 2, 5, (3, 3), "same"),    # stride larger than the kernel
    (1, 7, 5, 3, 3, 2, 2, (2, 3), "valid"),
    (2, 1, 1, 3, 1, 1, 2, (1, 1), "valid"),
    (4, 28, 28, 1, 3, 3, 32, (1, 1), "valid"),   # the article's CNN, first conv
    (4, 13, 13, 32, 3, 3, 64, (1, 1), "valid"),  # and second
]


def make(rng, n, h, w, cin, kh, kw, cout):
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    k = (rng.standard_normal((kh, kw, cin, cout)) / np.sqrt(kh * kw * cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    return x, k, b


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_forward_matches_reference(rng, case):
    n, h, w, cin, kh, kw, cout, strides, padding = case
    x, k, b = make(rng, n, h, w, cin, kh, kw, cout)
    assert_close(kernels.conv2d(x, k, b, strides=strides, padding=padding), ref_conv2d(x, k, b, strides, padding),
                 rtol=1e-4, atol=1e-5, what=str(case))
    assert_close(kernels.conv2d(x, k, strides=strides, padding=padding), ref_conv2d(x, k, None, strides, padding),
                 rtol=1e-4, atol=1e-5, what=f"{case} no bias")


def assert_backward_matches_reference(dy, x, k, strides, padding, case):
    """conv2d_backward against the float64 reference; returns the kernel's (dx, dkernel, dbias)."""
    dx, dk, db = kernels.conv2d_backward(dy, x, k, strides=strides, padding=padding)
    rdx, rdk, rdb = ref_conv2d_backward(dy, x, k, strides, padding)
    assert_close(dx, rdx, rtol=1e-4, atol=1e-4, what=f"dx {case}")
    assert_close(dk, rdk, rtol=1e-4, atol=1e-4, what=f"dkernel {case}")
    assert_close(db, rdb, rtol=1e-4, atol=1e-4, what=f"dbias {case}")
    return dx, dk, db


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_backward_matches_reference(rng, case):
    n, h, w, cin, kh, kw, cout, strides, padding = case
    x, k, _ = make(rng, n, h, w, cin, kh, kw, cout)
    dy = rng.standard_normal(ref_conv2d(x, k, None, strides, padding).shape).astype(np.float32)
    assert_backward_matches_reference(dy, x, k, strides, padding, case)


@pytest.mark.parametrize("case", CASES[:11], ids=str)
def test_conv2d_matches_torch(rng, case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    n, h, w, cin, kh, kw, cout, strides, padding = case
    x, k, b = make(rng, n, h, w, cin, kh, kw, cout)
    xt = torch.tensor(x, dtype=torch.float64).permute(0, 3, 1, 2).requires_grad_()
    kt = torch.tensor(k, dtype=torch.float64).permute(3, 2, 0, 1).requires_grad_()  # (Cout, Cin, KH, KW)
    bt = torch.tensor(b, dtype=torch.float64).requires_grad_()
    pads = (0, 0, 0, 0)
    if padding == "same":
        (pt, pb), (pl, pr) = same_pads(h, kh, strides[0]), same_pads(w, kw, strides[1])
        pads = (pl, pr, pt, pb)
    yt = F.conv2d(F.pad(xt, pads), kt, bt, stride=strides)
    y = kernels.conv2d(x, k, b, strides=strides, padding=padding)
    assert_close(y, yt.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-5, what=f"forward {case}")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    (yt * torch.tensor(dy, dtype=torch.float64).permute(0, 3, 1, 2)).sum().backward()
    dx, dk, db = kernels.conv2d_backward(dy, x, k, strides=strides, padding=padding)
    assert_close(dx, xt.grad.permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-4, what=f"dx {case}")
    assert_close(dk, kt.grad.permute(2, 3, 1, 0).numpy(), rtol=1e-4, atol=1e-4, what=f"dkernel {case}")
    assert_close(db, bt.grad.numpy(), rtol=1e-4, atol=1e-4, what=f"dbias {case}")


# shapes the direct kernels (small windows) take, checked by the finite differences below too
DIRECT_FD_CASES = [(1, 5, 6, 1, 3, 3, 3, (1, 1), "same"), (2, 5, 5, 2, 3, 2, 5, (2, 1), "valid"),
                   (1, 6, 5, 3, 3, 3, 2, (2, 2), "same")]


@pytest.mark.parametrize("case", [(1, 4, 5, 2, 3, 2, 2, (1, 1), "same"), (2, 5, 5, 1, 2, 3, 3, (2, 1), "valid"),
                                  (1, 5, 4, 3, 3, 3, 2, (2, 2), "same")] + DIRECT_FD_CASES, ids=str)
@pytest.mark.parametrize("direct", ["auto", "0"])  # "0": these small windows on the GEMM engines instead
def test_conv2d_backward_matches_finite_differences(rng, monkeypatch, case, direct):
    """Central differences of L = sum(dy * conv2d(x, k) + b) on the float64 reference."""
    if direct == "0":
        monkeypatch.setenv("FORGENET_CONV2D_DIRECT", "0")
    n, h, w, cin, kh, kw, cout, strides, padding = case
    x = rng.standard_normal((n, h, w, cin))
    k = rng.standard_normal((kh, kw, cin, cout))
    b = rng.standard_normal(cout)
    dy = rng.standard_normal(ref_conv2d(x, k, b, strides, padding).shape)
    loss = lambda x_, k_, b_: (dy * ref_conv2d(x_, k_, b_, strides, padding)).sum()  # noqa: E731
    eps = 1e-6

    def numeric(arr, which):
        g = np.zeros_like(arr)
        for idx in np.ndindex(*arr.shape):
            p, m = arr.copy(), arr.copy()
            p[idx] += eps
            m[idx] -= eps
            args_p, args_m = [x, k, b], [x, k, b]
            args_p[which], args_m[which] = p, m
            g[idx] = (loss(*args_p) - loss(*args_m)) / (2 * eps)
        return g

    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    dx, dk, db = kernels.conv2d_backward(f32(dy), f32(x), f32(k), strides=strides, padding=padding)
    assert_close(dx, numeric(x, 0), rtol=1e-3, atol=1e-4, what="dx")
    assert_close(dk, numeric(k, 1), rtol=1e-3, atol=1e-4, what="dkernel")
    assert_close(db, numeric(b, 2), rtol=1e-3, atol=1e-4, what="dbias")


def test_conv2d_backward_is_the_adjoint_of_our_forward(rng):
    """conv2d is linear in x and in kernel, so <dy, conv(x + d)> - <dy, conv(x)> = <dx, d> exactly
    (up to float32 rounding) for any direction d: a check of our backward against our own forward."""
    x, k, _ = make(rng, 2, 9, 8, 3, 3, 3, 4)
    for strides, padding in [((1, 1), "same"), ((2, 1), "valid"), ((2, 2), "same")]:
        y = kernels.conv2d(x, k, strides=strides, padding=padding)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx, dk, _ = kernels.conv2d_backward(dy, x, k, strides=strides, padding=padding)
        d = rng.standard_normal(x.shape).astype(np.float32)
        lhs = (dy.astype(np.float64) * kernels.conv2d(d, k, strides=strides, padding=padding)).sum()
        assert lhs == pytest.approx((dx.astype(np.float64) * d).sum(), rel=1e-4)
        d = rng.standard_normal(k.shape).astype(np.float32)
        lhs = (dy.astype(np.float64) * kernels.conv2d(x, d, strides=strides, padding=padding)).sum()
        assert lhs == pytest.approx((dk.astype(np.float64) * d).sum(), rel=1e-4)


def test_conv2d_chunk_boundaries_inside_images(rng):
    """Column buffers bigger than the kernel's budget go in chunks that split images mid-way;
    forward and backward must not notice (98 x 576 floats per output line, ~300 lines)."""
    x, k, b = make(rng, 3, 98, 98, 64, 3, 3, 1)
    y = kernels.conv2d(x, k, b, padding="same")
    assert_close(y, ref_conv2d(x, k, b, (1, 1), "same"), rtol=1e-4, atol=1e-4, what="forward")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = kernels.conv2d_backward(dy, x, k, padding="same")
    rdx, rdk, rdb = ref_conv2d_backward(dy, x, k, (1, 1), "same")
    assert_close(dx, rdx, rtol=1e-4, atol=1e-4, what="dx")
    assert_close(dk, rdk, rtol=1e-4, atol=1e-3, what="dkernel")
    assert_close(db, rdb, rtol=1e-4, atol=1e-3, what="dbias")


def test_conv2d_backward_is_deterministic(rng):
    x, k, _ = make(rng, 8, 12, 12, 8, 3, 3, 16)
    dy = rng.standard_normal((8, 10, 10, 16)).astype(np.float32)
    first = kernels.conv2d_backward(dy, x, k)
    for a, b in zip(first, kernels.conv2d_backward(dy, x, k)):
        np.testing.assert_array_equal(a, b)


def test_conv2d_accepts_noncontiguous_and_int_strides(rng):
    x, k, b = make(rng, 2, 10, 12, 3, 3, 3, 4)
    xs = x[:, :, ::2]
    assert_close(kernels.conv2d(xs, k, b, strides=2, padding="SAME"), ref_conv2d(xs, k, b, (2, 2), "same"),
                 rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="conv2d: x must be C-contiguous"):
        _C.conv2d(xs, k, b)
    assert_close(_C.conv2d(x, k, b, strides=np.int64(2)), ref_conv2d(x, k, b, (2, 2)), rtol=1e-4, atol=1e-5)


def test_conv2d_empty_batch_and_empty_channels(rng):
    x, k, b = make(rng, 0, 6, 6, 3, 3, 3, 4)
    y = kernels.conv2d(x, k, b, padding="same")
    assert y.shape == (0, 6, 6, 4)
    dx, dk, db = kernels.conv2d_backward(y, x, k, padding="same")
    assert dx.shape == x.shape and not dk.any() and not db.any() and dk.shape == k.shape
    x0 = np.zeros((2, 5, 5, 0), np.float32)
    y = kernels.conv2d(x0, np.zeros((3, 3, 0, 2), np.float32), b[:2])
    assert y.shape == (2, 3, 3, 2) and (y == b[:2]).all()
    k0 = np.zeros((3, 3, 3, 0), np.float32)  # no output channels
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    assert kernels.conv2d(x, k0).shape == (2, 4, 4, 0)
    dx, dk, db = kernels.conv2d_backward(np.zeros((2, 4, 4, 0), np.float32), x, k0)
    assert dx.shape == x.shape and not dx.any() and dk.shape == k0.shape and db.shape == (0,)
    xh = np.zeros((2, 0, 5, 3), np.float32)  # no rows: 'same' gives no output rows
    assert kernels.conv2d(xh, k, b, padding="same").shape == (2, 0, 5, 4)


def test_conv2d_nan_flows_through(rng):
    x, k, b = make(rng, 2, 6, 6, 2, 3, 3, 3)
    x[1, 0, 0, 1] = np.nan
    y = kernels.conv2d(x, k, b)
    assert np.isnan(y[1, 0, 0]).all() and np.isfinite(y[0]).all() and np.isfinite(y[1, 1:]).all()
    dx, dk, db = kernels.conv2d_backward(np.ones_like(y), x, k)
    assert np.isnan(dk).any() and np.isfinite(dx).all() and np.isfinite(db).all()


BAD = [
    # (kwargs builder, exception, message)
    (lambda x, k, b: dict(x=x[0]), ValueError, r"conv2d: x must have rank 4, got shape \(6, 6, 3\)"),
    (lambda x, k, b: dict(kernel=k[0]), ValueError, r"conv2d: kernel must have rank 4, got shape \(3, 3, 4\)"),
    (lambda x, k, b: dict(kernel=k[:, :, :2]), ValueError, r"conv2d: x has 3 channels but kernel \(3, 3, 2, 4\) expects 2"),
    (lambda x, k, b: dict(x=x[:, :2]), ValueError, r"conv2d: kernel \(3, 3\) larger than input \(2, 6\)"),
    (lambda x, k, b: dict(strides=(0, 1)), ValueError, r"conv2d: strides must be positive, got \(0, 1\)"),
    (lambda x, k, b: dict(strides=(2, -1)), ValueError, r"conv2d: strides must be positive, got \(2, -1\)"),
    (lambda x, k, b: dict(strides=(1, 2, 3)), ValueError, r"conv2d: strides must be an int or a pair of ints"),
    (lambda x, k, b: dict(padding="full"), ValueError, r"conv2d: padding must be 'valid' or 'same', got 'full'"),
    (lambda x, k, b: dict(bias=b[:3]), ValueError, r"conv2d: bias must have shape \(4,\), got \(3,\)"),
    (lambda x, k, b: dict(bias=b[None]), ValueError, r"conv2d: bias must have rank 1"),
    (lambda x, k, b: dict(x=x.astype(np.float64)), TypeError, "conv2d: x must be float32, got float64"),
    (lambda x, k, b: dict(kernel=k.astype(np.int64)), TypeError, "conv2d: kernel must be float32, got int64"),
    (lambda x, k, b: dict(bias=b.astype(np.float64)), TypeError, "conv2d: bias must be float32, got float64"),
]


@pytest.mark.parametrize("bad,exc,msg", BAD, ids=[m for _, _, m in BAD])
def test_conv2d_rejects_bad_input(rng, bad, exc, msg):
    x, k, b = make(rng, 2, 6, 6, 3, 3, 3, 4)
    args = dict(x=x, kernel=k, bias=b, strides=(1, 1), padding="valid") | bad(x, k, b)
    args = {key: np.ascontiguousarray(v) if isinstance(v, np.ndarray) else v for key, v in args.items()}
    for fn in (kernels.conv2d, _C.conv2d):  # the C++ side checks on its own too
        with pytest.raises(exc, match=msg):
            fn(args["x"], args["kernel"], args["bias"], strides=args["strides"], padding=args["padding"])


@pytest.mark.parametrize("dy_shape,kw,msg", [
    ((2, 4, 4, 5), {}, r"conv2d_backward: dy must have the forward output's shape \(2, 4, 4, 4\), got \(2, 4, 4, 5\)"),
    ((2, 4, 4, 4), dict(padding="same"), r"conv2d_backward: dy must have the forward output's shape \(2, 6, 6, 4\)"),
    ((2, 4, 4), {}, r"conv2d_backward: dy must have rank 4"),
])
def test_conv2d_backward_rejects_bad_dy(rng, dy_shape, kw, msg):
    x, k, _ = make(rng, 2, 6, 6, 3, 3, 3, 4)
    dy = np.zeros(dy_shape, np.float32)
    for fn in (kernels.conv2d_backward, _C.conv2d_backward):
        with pytest.raises(ValueError, match=msg):
            fn(dy, x, k, **kw)
    with pytest.raises(TypeError, match="conv2d_backward: dy must be float32, got float64"):
        kernels.conv2d_backward(np.zeros((2, 4, 4, 4)), x, k)


def test_conv2d_backward_can_skip_dx(rng):
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    k = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    dy = rng.standard_normal(kernels.conv2d(x, k).shape).astype(np.float32)
    dx, dk, db = kernels.conv2d_backward(dy, x, k)
    none, dk2, db2 = kernels.conv2d_backward(dy, x, k, need_dx=False)
    assert none is None and dx.shape == x.shape
    np.testing.assert_array_equal(dk, dk2)
    np.testing.assert_array_equal(db, db2)


@pytest.mark.parametrize("shape", [(4, 50, 50, 3, 4), (3, 37, 41, 70, 33)], ids=str)
def test_conv2d_pointwise_backward_blocks(rng, shape):
    """A 1x1 stride-1 backward with dx runs dx and dkernel block by block of pixels, threads summing
    dkernel into their own partials (these shapes: 2 and 8 blocks, the last partial): the float64
    reference, repeatable bit for bit, the one-thread result to rounding."""
    import forgenet

    n, h, w, cin, cout = shape
    assert _C._conv2d_path((n, h, w, cin), (1, 1, cin, cout)) == ("pointwise",) * 3
    x, k, _ = make(rng, n, h, w, cin, 1, 1, cout)
    dy = rng.standard_normal((n, h, w, cout)).astype(np.float32)
    got = kernels.conv2d_backward(dy, x, k)
    for a, b, what in zip(got, ref_conv2d_backward(dy, x, k, (1, 1), "valid"), ["dx", "dkernel", "dbias"]):
        assert_close(a, b, rtol=1e-4, atol=1e-4, what=what)
    for a, b in zip(got, kernels.conv2d_backward(dy, x, k)):
        np.testing.assert_array_equal(a, b)
    before = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = kernels.conv2d_backward(dy, x, k)
    finally:
        forgenet.set_num_threads(before)
    for a, b, what in zip(got, one, ["dx", "dkernel", "dbias"]):
        assert_close(a, b, rtol=1e-5, atol=1e-4, what=what + ", threads vs one")


@pytest.mark.parametrize("kshape", [(3, 2, 3, 4), (1, 1, 3, 4), (3, 3, 3, 20)], ids=str)
def test_conv2d_backward_can_skip_dbias(rng, kshape):
    """need_db=False (a convolution without bias) returns None for dbias and the same dx and dkernel, on
    every engine's path (implicit GEMM, pointwise, Winograd)."""
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    k = rng.standard_normal(kshape).astype(np.float32)
    dy = rng.standard_normal(kernels.conv2d(x, k).shape).astype(np.float32)
    dx, dk, db = kernels.conv2d_backward(dy, x, k)
    dx2, dk2, none = kernels.conv2d_backward(dy, x, k, need_db=False)
    assert none is None and db.shape == (k.shape[3],)
    np.testing.assert_array_equal(dx, dx2)
    np.testing.assert_array_equal(dk, dk2)
    assert kernels.conv2d_backward(dy, x, k, need_dx=False, need_db=False)[::2] == (None, None)


# The implicit GEMM's edges: K (= KH*KW*Cin) over one 512 block, Cout over one column block (~240) and
# not a multiple of the register tile, Cin = 1, 'same' and 'valid', strides, and tiles whose pixels
# skip kernel rows in the padding (which, with K blocks, can leave a tile nothing in a block).
EDGE_CASES = [
    (1, 6, 6, 60, 3, 3, 250, (1, 1), "same"),
    (2, 7, 5, 60, 3, 3, 19, (1, 1), "valid"),
    (1, 9, 9, 70, 3, 3, 5, (2, 2), "same"),
    (3, 5, 8, 1, 5, 3, 17, (1, 1), "same"),
    (2, 12, 3, 2, 7, 1, 3, (1, 1), "same"),    # tall kernel: most rows of most tiles in the padding
    (2, 4, 4, 3, 1, 1, 33, (2, 2), "same"),    # strided 1x1
    (1, 1, 1, 1, 1, 1, 1, (1, 1), "valid"),
]


@pytest.mark.parametrize("case", EDGE_CASES, ids=str)
def test_conv2d_implicit_gemm_edges(rng, case):
    n, h, w, cin, kh, kw, cout, strides, padding = case
    x, k, b = make(rng, n, h, w, cin, kh, kw, cout)
    y = kernels.conv2d(x, k, b, strides=strides, padding=padding)
    assert_close(y, ref_conv2d(x, k, b, strides, padding), rtol=1e-4, atol=1e-5, what="forward")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = kernels.conv2d_backward(dy, x, k, strides=strides, padding=padding)
    rdx, rdk, rdb = ref_conv2d_backward(dy, x, k, strides, padding)
    assert_close(dx, rdx, rtol=1e-4, atol=1e-4, what="dx")
    assert_close(dk, rdk, rtol=1e-4, atol=1e-4, what="dkernel")
    assert_close(db, rdb, rtol=1e-4, atol=1e-4, what="dbias")


@pytest.mark.slow  # the float64 reference takes ~15 s on two cores
def test_conv2d_padded_copies_in_chunks_of_images(rng):
    """A padded image over half the 32 MiB budget goes one image per chunk: the second image's output,
    kernel gradient and input gradient must not notice."""
    x, k, b = make(rng, 2, 800, 800, 8, 3, 3, 1)
    y = kernels.conv2d(x, k, b, padding="same")
    assert_close(y, ref_conv2d(x, k, b, (1, 1), "same"), rtol=1e-4, atol=1e-4, what="forward")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = kernels.conv2d_backward(dy, x, k, padding="same")
    rdx, rdk, rdb = ref_conv2d_backward(dy, x, k, (1, 1), "same")
    assert_close(dx, rdx, rtol=1e-4, atol=1e-4, what="dx")
    assert_close(dk, rdk, rtol=1e-4, atol=1e-2, what="dkernel")
    assert_close(db, rdb, rtol=1e-4, atol=1e-2, what="dbias")


def test_conv2d_threads_agree(rng):
    """Threads split tiles (forward, dx) and pixels (dkernel, summed in thread order): one thread and
    all of them give the same results to float32 rounding."""
    import forgenet

    x, k, b = make(rng, 6, 15, 15, 16, 3, 3, 24)
    dy = rng.standard_normal((6, 15, 15, 24)).astype(np.float32)
    before = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = (kernels.conv2d(x, k, b, padding="same"),) + kernels.conv2d_backward(dy, x, k, padding="same")
    finally:
        forgenet.set_num_threads(before)
    many = (kernels.conv2d(x, k, b, padding="same"),) + kernels.conv2d_backward(dy, x, k, padding="same")
    for a, c, what in zip(one, many, ["y", "dx", "dk", "db"]):
        assert_close(c, a, rtol=1e-5, atol=1e-4, what=what)


# ----------------------------------------------------------------------------- Winograd F(2x2, 3x3)
# 3x3 stride-1 windows with >= 16 channels each side (and outputs >= 2 wide) run Winograd: forward,
# dkernel (same rule as the forward) and dx (the rule on the flipped window: _conv2d_uses_winograd's second); FORGENET_CONV2D_WINOGRAD=1 takes it for every 3x3 stride-1 shape (small channels too), =0 never.
# Error: F(2x2)'s transforms hold only 0, +-1 and 1/2, so it keeps the direct sum's accuracy: about
# 1e-7 x the output's scale at these sizes (worst case below within 2e-6), well inside rtol/atol 1e-4.
def winograd_mode(monkeypatch, mode):
    monkeypatch.setenv("FORGENET_CONV2D_WINOGRAD", mode)


simd_only = pytest.mark.skipif(_C.isa() == "generic", reason="Winograd runs only with AVX2 or AVX-512")


WINOGRAD_CASES = [
    # (N, H, W, Cin, Cout, padding): odd H/W (tiles past the edge), channels off multiples of 8/16
    (1, 7, 9, 19, 21, "same"),
    (2, 8, 8, 16, 16, "valid"),
    (1, 5, 6, 37, 45, "valid"),
    (3, 11, 4, 24, 33, "same"),
    (1, 3, 3, 17, 18, "same"),      # one tile, mostly padding
    (2, 4, 5, 40, 70, "valid"),     # 2x3 output: the last tile column half outside
]


@simd_only
@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=str)
def test_conv2d_winograd_matches_reference(rng, case):
    n, h, w, cin, cout, padding = case
    assert _C._conv2d_uses_winograd((n, h, w, cin), (3, 3, cin, cout), padding=padding) == (True, True)
    x, k, b = make(rng, n, h, w, cin, 3, 3, cout)
    ref = ref_conv2d(x, k, b, (1, 1), padding)
    y = kernels.conv2d(x, k, b, padding=padding)
    assert_close(y, ref, rtol=1e-4, atol=1e-5, what="forward")
    scale = np.abs(ref).max()
    assert np.abs(y - ref).max() <= 2e-6 * scale, "Winograd forward error over 2e-6 x the output's scale"
    assert_close(kernels.conv2d(x, k, padding=padding), ref_conv2d(x, k, None, (1, 1), padding),
                 rtol=1e-4, atol=1e-5, what="no bias")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = kernels.conv2d_backward(dy, x, k, padding=padding)
    rdx, rdk, rdb = ref_conv2d_backward(dy, x, k, (1, 1), padding)
    assert_close(dx, rdx, rtol=1e-4, atol=1e-4, what="dx")
    assert np.abs(dx - rdx).max() <= 2e-6 * np.abs(rdx).max(), "Winograd dx error over 2e-6 x dx's scale"
    assert_close(dk, rdk, rtol=1e-4, atol=1e-4, what="dkernel")
    assert_close(db, rdb, rtol=1e-4, atol=1e-4, what="dbias")


@simd_only
@pytest.mark.parametrize("case", [(1, 5, 5, 1, 1, "valid"), (2, 6, 7, 3, 5, "same"), (1, 2, 9, 9, 2, "same"),
                                  (2, 4, 3, 2, 17, "valid")], ids=str)
def test_conv2d_winograd_forced_on_small_shapes(rng, monkeypatch, case):
    """Forced on, Winograd takes shapes the rule leaves to the implicit GEMM: 1 channel, outputs one
    element wide or tall, a 'valid' dx padded by 2 on every side."""
    winograd_mode(monkeypatch, "1")
    n, h, w, cin, cout, padding = case
    assert _C._conv2d_uses_winograd((n, h, w, cin), (3, 3, cin, cout), padding=padding) == (True, True)
    x, k, b = make(rng, n, h, w, cin, 3, 3, cout)
    y = kernels.conv2d(x, k, b, padding=padding)
    assert_close(y, ref_conv2d(x, k, b, (1, 1), padding), rtol=1e-4, atol=1e-5, what="forward")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = kernels.conv2d_backward(dy, x, k, padding=padding)
    rdx, rdk, rdb = ref_conv2d_backward(dy, x, k, (1, 1), padding)
    assert_close(dx, rdx, rtol=1e-4, atol=1e-4, what="dx")
    assert_close(dk, rdk, rtol=1e-4, atol=1e-4, what="dkernel")


@simd_only
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_winograd_backward_matches_finite_differences(rng, monkeypatch, padding):
    """dx and dkernel through Winograd against central differences of L = sum(dy * conv2d(x, k)) on the
    float64 reference (odd sizes: a last tile row and column half outside the output)."""
    winograd_mode(monkeypatch, "1")
    n, h, w, cin, cout = 1, 5, 4, 3, 2
    x, k = rng.standard_normal((n, h, w, cin)), rng.standard_normal((3, 3, cin, cout))
    dy = rng.standard_normal(ref_conv2d(x, k, None, (1, 1), padding).shape)
    loss = lambda x_, k_: (dy * ref_conv2d(x_, k_, None, (1, 1), padding)).sum()  # noqa: E731
    eps = 1e-6

    def numeric(arr, which):
        g = np.zeros_like(arr)
        for idx in np.ndindex(*arr.shape):
            p, m = arr.copy(), arr.copy()
            p[idx] += eps
            m[idx] -= eps
            g[idx] = (loss(p, k) - loss(m, k)) / (2 * eps) if which == 0 else (loss(x, p) - loss(x, m)) / (2 * eps)
        return g

    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    dx, dk, _ = kernels.conv2d_backward(f32(dy), f32(x), f32(k), padding=padding)
    assert_close(dx, numeric(x, 0), rtol=1e-3, atol=1e-4, what="dx")
    assert_close(dk, numeric(k, 1), rtol=1e-3, atol=1e-4, what="dkernel")


@simd_only
def test_conv2d_winograd_rule_and_switch(rng, monkeypatch):
    """The rule: 3x3, stride 1, >= 16 channels each side, output >= 2 each way; the seed CNN's first conv
    (cin = 1) and strided or non-3x3 windows stay on the implicit GEMM. The switch really changes the
    engine: the two paths agree to rounding but not bit for bit."""
    q = _C._conv2d_uses_winograd
    assert q((8, 56, 56, 64), (3, 3, 64, 64), padding="same") == (True, True)
    assert q((8, 7, 7, 512), (3, 3, 512, 512), padding="same") == (True, True)
    assert q((4, 28, 28, 1), (3, 3, 1, 32)) == (False, False)          # seed CNN conv1: cin = 1
    assert q((4, 13, 13, 32), (3, 3, 32, 64)) == (True, True)          # seed CNN conv2
    assert q((2, 9, 9, 64), (3, 3, 64, 8)) == (False, False)           # 8 outputs: the dx has cin' = 8
    assert q((2, 9, 9, 64), (3, 3, 64, 64), strides=2, padding="same") == (False, False)
    assert q((2, 9, 9, 64), (5, 5, 64, 64), padding="same") == (False, False)
    assert q((2, 1, 9, 64), (3, 3, 64, 64), padding="same") == (False, False)  # output one row tall
    assert q((2, 3, 9, 64), (3, 3, 64, 64)) == (False, True)            # 1 x 7 out; its dx is 3 x 9
    x, k, b = make(rng, 2, 9, 10, 32, 3, 3, 24)
    dy = rng.standard_normal((2, 9, 10, 24)).astype(np.float32)
    wino = (kernels.conv2d(x, k, b, padding="same"), kernels.conv2d_backward(dy, x, k, padding="same")[0])
    winograd_mode(monkeypatch, "0")
    assert q((8, 56, 56, 64), (3, 3, 64, 64), padding="same") == (False, False)
    old = (kernels.conv2d(x, k, b, padding="same"), kernels.conv2d_backward(dy, x, k, padding="same")[0])
    for a, c, what in zip(wino, old, ["y", "dx"]):
        assert_close(a, c, rtol=1e-5, atol=1e-5, what=what)
        assert not np.array_equal(a, c), f"{what}: the switch did not change the engine"


@simd_only
def test_conv2d_winograd_threads_agree_and_block_edges(rng):
    """Threads split blocks of tiles; a batch whose tile count is not a multiple of the block or of
    the micro-kernel's 6 rows gives the same result on one thread and on all of them."""
    import forgenet

    x, k, b = make(rng, 5, 13, 11, 48, 3, 3, 40)
    dy = rng.standard_normal((5, 13, 11, 40)).astype(np.float32)
    before = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = (kernels.conv2d(x, k, b, padding="same"), kernels.conv2d_backward(dy, x, k, padding="same")[0])
    finally:
        forgenet.set_num_threads(before)
    many = (kernels.conv2d(x, k, b, padding="same"), kernels.conv2d_backward(dy, x, k, padding="same")[0])
    for a, c, what in zip(one, many, ["y", "dx"]):
        np.testing.assert_array_equal(a, c, err_msg=what)  # each tile's arithmetic is fixed: bit-equal
    assert_close(many[0], ref_conv2d(x, k, b, (1, 1), "same"), rtol=1e-4, atol=1e-5, what="y")
    # dkernel sums per-thread partials (contiguous blocks, added in thread order): repeatable bit for bit
    first = kernels.conv2d_backward(dy, x, k, padding="same")
    for a, c in zip(first, kernels.conv2d_backward(dy, x, k, padding="same")):
        np.testing.assert_array_equal(a, c)
    forgenet.set_num_threads(1)
    try:
        dk1 = kernels.conv2d_backward(dy, x, k, padding="same")[1]
    finally:
        forgenet.set_num_threads(before)
    assert_close(first[1], dk1, rtol=1e-5, atol=1e-4, what="dkernel, threads vs one")


@simd_only
@pytest.mark.parametrize("case", [(5, 13, 11, 48, 40), (1, 6, 6, 40, 70), (2, 4, 4, 70, 100)], ids=str)
def test_conv2d_winograd_kernel_gradient_splits(rng, case):
    """dkernel's two thread splits: blocks of tiles, each thread into its own dU, the copies summed in
    order (many tiles: the first case), and panels of output channels of one dU (few tiles, many
    channels: the others, with channels off the 6-row and 16/32-column tiles). The panel split gives the
    one-thread result bit for bit (each dU element summed over the same blocks in the same order), the
    tile split to rounding; both are repeatable and match the float64 reference."""
    import forgenet

    n, h, w, cin, cout = case
    x, k, _ = make(rng, n, h, w, cin, 3, 3, cout)
    dy = rng.standard_normal((n, h, w, cout)).astype(np.float32)
    before = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = kernels.conv2d_backward(dy, x, k, padding="same")[1]
    finally:
        forgenet.set_num_threads(before)
    many = kernels.conv2d_backward(dy, x, k, padding="same")[1]
    np.testing.assert_array_equal(many, kernels.conv2d_backward(dy, x, k, padding="same")[1])
    if n * h * w < 100:  # the panel split's shapes
        np.testing.assert_array_equal(one, many)
    assert_close(many, ref_conv2d_backward(dy, x, k, (1, 1), "same")[1], rtol=1e-4, atol=1e-4, what="dkernel")
    assert_close(one, many, rtol=1e-5, atol=1e-4, what="dkernel, threads vs one")


def test_conv2d_winograd_nan_stays_local(rng):
    """A NaN in x reaches only the outputs whose window covers it (Winograd mixes a 4x4 input block into
    a 2x2 output tile: a NaN must not leak to the tile's other outputs through a zero weight)."""
    x, k, b = make(rng, 1, 8, 8, 16, 3, 3, 16)
    x[0, 3, 3, 5] = np.nan  # the first row and column of tiles (2, 2)'s input, the last of tiles (1, 1)'s
    y = kernels.conv2d(x, k, b, padding="same")
    bad = np.isnan(y[0]).any(-1)
    expect = np.zeros((8, 8), bool)
    expect[2:5, 2:5] = True
    assert (bad == expect).all()


# ------------------------------------------------------------------------------- direct (small Cin)
# Windows of at most 32 patch elements (KH * KW * Cin), other than 1x1 stride 1, run direct kernels in
# all three passes (a first layer on 1-3 channel images); FORGENET_CONV2D_DIRECT=1 takes them for every
# window Winograd does not, =0 never. _C._conv2d_path names each pass's engine: (forward, dkernel, dx).
def direct_mode(monkeypatch, mode):
    monkeypatch.setenv("FORGENET_CONV2D_DIRECT", mode)


DIRECT = ("direct", "direct", "direct")

DIRECT_CASES = [
    # (N, H, W, Cin, KH, KW, Cout, strides, padding): Cin 1..4, Cout off multiples of 8, odd sizes
    (1, 28, 28, 1, 3, 3, 32, (1, 1), "valid"),   # the seed CNN's conv1, batch 1
    (3, 11, 9, 1, 3, 3, 13, (1, 1), "same"),
    (2, 10, 13, 2, 3, 3, 17, (1, 1), "same"),
    (2, 9, 12, 3, 3, 3, 5, (2, 2), "same"),
    (1, 13, 7, 3, 3, 3, 40, (2, 1), "valid"),
    (2, 8, 8, 4, 2, 2, 3, (1, 1), "same"),       # even kernel: the extra pad bottom/right
    (2, 12, 11, 1, 5, 5, 33, (1, 1), "same"),    # 25 patch elements
    (1, 7, 8, 4, 1, 1, 7, (2, 2), "valid"),      # strided 1x1
    (2, 6, 6, 2, 4, 4, 1, (3, 2), "same"),       # one output channel, stride larger than the kernel
    (1, 3, 3, 1, 5, 5, 2, (1, 1), "same"),       # kernel larger than the input
]


def assert_forward_matches_reference(x, k, b, strides, padding, case):
    """y with and without bias against the float64 reference."""
    assert_close(kernels.conv2d(x, k, b, strides=strides, padding=padding), ref_conv2d(x, k, b, strides, padding),
                 rtol=1e-4, atol=1e-5, what=f"y {case}")
    assert_close(kernels.conv2d(x, k, strides=strides, padding=padding), ref_conv2d(x, k, None, strides, padding),
                 rtol=1e-4, atol=1e-5, what=f"y, no bias {case}")


@pytest.mark.parametrize("case", DIRECT_CASES, ids=str)
def test_conv2d_direct_matches_reference(rng, case):
    n, h, w, cin, kh, kw, cout, strides, padding = case
    assert _C._conv2d_path((n, h, w, cin), (kh, kw, cin, cout), strides=strides, padding=padding) == DIRECT
    x, k, b = make(rng, n, h, w, cin, kh, kw, cout)
    assert_forward_matches_reference(x, k, b, strides, padding, case)
    dy = rng.standard_normal(ref_conv2d(x, k, None, strides, padding).shape).astype(np.float32)
    _, dk, _ = assert_backward_matches_reference(dy, x, k, strides, padding, case)
    none, dk2, _ = kernels.conv2d_backward(dy, x, k, strides=strides, padding=padding, need_dx=False)
    assert none is None
    np.testing.assert_array_equal(dk2, dk)


def test_conv2d_direct_finite_difference_shapes_take_the_direct_path():
    # test_conv2d_backward_matches_finite_differences checks these shapes: they must reach the direct kernels
    for n, h, w, cin, kh, kw, cout, strides, padding in DIRECT_FD_CASES:
        assert _C._conv2d_path((n, h, w, cin), (kh, kw, cin, cout), strides=strides, padding=padding) == DIRECT


def test_conv2d_direct_rule_and_switch(rng, monkeypatch):
    """The rule: <= 32 patch elements and not a plain 1x1 product (and, forward only, wide windows over
    <= 4 channels: the next section); Winograd's shapes keep Winograd. The
    switch really changes the engine: forced on and off, the paths agree to rounding, not bit for bit."""
    p = _C._conv2d_path
    assert p((32, 28, 28, 1), (3, 3, 1, 32)) == DIRECT                       # seed CNN conv1
    assert p((4, 28, 28, 3), (3, 3, 3, 64), padding="same") == DIRECT
    assert p((4, 28, 28, 1), (5, 5, 1, 8), strides=2) == DIRECT
    assert p((4, 13, 13, 32), (3, 3, 32, 64)) == ("winograd",) * 3           # seed CNN conv2
    assert p((4, 13, 13, 5), (3, 3, 5, 8)) == ("implicit_gemm",) * 3         # 45 patch elements
    assert p((4, 13, 13, 5), (3, 3, 5, 8), strides=2) == ("implicit_gemm", "implicit_gemm", "col2im")
    assert p((4, 13, 13, 4), (3, 3, 4, 8)) == ("direct", "implicit_gemm", "implicit_gemm")  # wide: forward only
    assert p((4, 13, 13, 4), (1, 1, 4, 8)) == ("pointwise",) * 3
    assert p((0, 13, 13, 1), (3, 3, 1, 8)) != DIRECT                          # nothing to compute
    cases = [(2, 9, 10, 1, 3, 3, 13, (1, 1), "same"), (2, 9, 10, 3, 3, 3, 8, (2, 2), "valid"),
             (2, 9, 10, 6, 3, 3, 9, (1, 2), "same")]  # the last: 54 patch elements, direct only when forced
    results = {}
    for mode in ("0", "1"):
        direct_mode(monkeypatch, mode)
        for case in cases:
            n, h, w, cin, kh, kw, cout, strides, padding = case
            path = p((n, h, w, cin), (kh, kw, cin, cout), strides=strides, padding=padding)
            assert (path == DIRECT) == (mode == "1"), (mode, case, path)
            x, k, b = make(np.random.default_rng(7), n, h, w, cin, kh, kw, cout)
            dy = np.random.default_rng(8).standard_normal(ref_conv2d(x, k, None, strides, padding).shape)
            dy = dy.astype(np.float32)
            results[mode, case] = (kernels.conv2d(x, k, b, strides=strides, padding=padding),
                                   *kernels.conv2d_backward(dy, x, k, strides=strides, padding=padding))
    for case in cases:
        for a, c, what in zip(results["1", case], results["0", case], ["y", "dx", "dkernel", "dbias"]):
            assert_close(a, c, rtol=1e-5, atol=1e-5, what=f"{what} {case}")
        # y and dkernel may be bit-equal (both engines sum the taps in order); dx's dot products over the
        # output channels run in vector lanes on the direct path, sequentially in the implicit GEMM
        assert not np.array_equal(results["1", case][1], results["0", case][1]), f"dx {case}: same engine"


def test_conv2d_direct_threads_agree(rng):
    """Threads split output lines (forward), input lines (dx) and output lines with per-chunk partials
    summed in chunk order (dkernel): y and dx are bit-equal on one thread and on all of them."""
    import forgenet

    x, k, b = make(rng, 16, 28, 28, 1, 3, 3, 32)
    dy = rng.standard_normal((16, 26, 26, 32)).astype(np.float32)
    before = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = (kernels.conv2d(x, k, b),) + kernels.conv2d_backward(dy, x, k)
    finally:
        forgenet.set_num_threads(before)
    many = (kernels.conv2d(x, k, b),) + kernels.conv2d_backward(dy, x, k)
    np.testing.assert_array_equal(one[0], many[0], err_msg="y")
    np.testing.assert_array_equal(one[1], many[1], err_msg="dx")
    # sums of ~10^4 products: float32 rounding relative to the gradient's scale, not to each element
    assert_close(many[2], one[2], rtol=1e-5, atol=1e-5 * np.abs(one[2]).max(), what="dkernel")
    again = kernels.conv2d_backward(dy, x, k)
    np.testing.assert_array_equal(again[1], many[2], err_msg="dkernel, run to run")


def test_conv2d_direct_nan_stays_local(rng):
    """A NaN in x reaches only the outputs whose window covers it (the padded kernel columns and copies
    must not spread it)."""
    x, k, b = make(rng, 1, 8, 8, 2, 3, 3, 5)
    x[0, 3, 4, 1] = np.nan
    y = kernels.conv2d(x, k, b, padding="same")
    expect = np.zeros((8, 8), bool)
    expect[2:5, 3:6] = True
    assert (np.isnan(y[0]).any(-1) == expect).all()
    assert np.isnan(y[0, 3, 4]).all()


# ------------------------------------------------------------------ direct forward, wide windows
# The forward (only) of a window over <= 4 input channels with up to 7 * 7 * 4 patch elements also runs
# the direct kernel (ResNet's stem: 7x7 stride 2 over RGB); its gradients keep the GEMM engines.
WIDE = ("direct", "implicit_gemm")  # (forward, dkernel); dx: implicit_gemm at stride 1, else col2im

WIDE_CASES = [
    # (N, H, W, Cin, KH, KW, Cout, strides, padding)
    (1, 45, 47, 3, 7, 7, 64, (2, 2), "same"),     # the stem's window, batch 1
    (2, 23, 21, 3, 7, 7, 13, (2, 2), "valid"),
    (2, 17, 19, 4, 5, 5, 20, (3, 3), "same"),     # 100 patch elements, stride 3
    (1, 15, 16, 2, 7, 7, 33, (1, 1), "same"),     # stride 1, Cout past a block
    (2, 9, 12, 4, 3, 3, 70, (1, 2), "valid"),     # 36 patch elements, mixed strides
    (3, 14, 13, 1, 11, 3, 9, (2, 1), "same"),     # tall kernel over one channel
    (1, 5, 6, 3, 7, 7, 5, (2, 2), "same"),        # kernel larger than the input: rows skipped both ends
    (2, 8, 9, 4, 7, 6, 1, (3, 2), "same"),        # one output channel, even kernel width
]


def wide_path(case):
    n, h, w, cin, kh, kw, cout, strides, padding = case
    return _C._conv2d_path((n, h, w, cin), (kh, kw, cin, cout), strides=strides, padding=padding)


@pytest.mark.parametrize("case", WIDE_CASES, ids=str)
def test_conv2d_wide_direct_matches_reference(rng, case):
    n, h, w, cin, kh, kw, cout, strides, padding = case
    path = wide_path(case)
    assert path == WIDE + (("implicit_gemm",) if strides == (1, 1) else ("col2im",)), path
    x, k, b = make(rng, n, h, w, cin, kh, kw, cout)
    assert_forward_matches_reference(x, k, b, strides, padding, case)
    dy = rng.standard_normal(ref_conv2d(x, k, None, strides, padding).shape).astype(np.float32)
    assert_backward_matches_reference(dy, x, k, strides, padding, case)


def test_conv2d_wide_direct_rule_and_switch(rng, monkeypatch):
    """Beyond 4 channels or 196 patch elements the forward stays on the implicit GEMM; forced off, the
    stem's window goes there too, and both engines give the same y to rounding."""
    p = _C._conv2d_path
    assert p((8, 224, 224, 3), (7, 7, 3, 64), strides=2, padding="same") == WIDE + ("col2im",)  # ResNet's stem
    assert p((2, 32, 32, 5), (7, 7, 5, 64), strides=2)[0] == "implicit_gemm"   # 5 channels
    assert p((2, 32, 32, 4), (9, 9, 4, 64), strides=2)[0] == "implicit_gemm"   # 324 patch elements
    assert p((2, 32, 32, 1), (14, 14, 1, 8))[0] == "direct"                    # 196
    assert p((2, 32, 32, 1), (15, 14, 1, 8))[0] == "implicit_gemm"             # 210
    case = (2, 29, 31, 3, 7, 7, 24, (2, 2), "same")
    n, h, w, cin, kh, kw, cout, strides, padding = case
    x, k, b = make(rng, n, h, w, cin, kh, kw, cout)
    ys = {}
    for mode in ("auto", "0"):
        if mode == "0":
            direct_mode(monkeypatch, "0")
        assert (wide_path(case)[0] == "direct") == (mode == "auto")
        ys[mode] = kernels.conv2d(x, k, b, strides=strides, padding=padding)
    assert_close(ys["auto"], ys["0"], rtol=1e-5, atol=1e-5, what="y, direct against implicit GEMM")


def test_conv2d_wide_direct_threads_agree(rng):
    """Threads split output lines: the stem's y is bit-equal on one thread and on all of them."""
    import forgenet

    x, k, b = make(rng, 3, 40, 38, 3, 7, 7, 64)
    before = forgenet.get_num_threads()
    try:
        forgenet.set_num_threads(1)
        one = kernels.conv2d(x, k, b, strides=2, padding="same")
    finally:
        forgenet.set_num_threads(before)
    np.testing.assert_array_equal(one, kernels.conv2d(x, k, b, strides=2, padding="same"))


def test_conv2d_wide_direct_nan_stays_local(rng):
    """A NaN in x reaches only the outputs whose window covers it (padded kernel columns, skipped rows)."""
    x, k, b = make(rng, 1, 12, 12, 3, 7, 7, 20)
    x[0, 0, 5, 2] = np.nan
    y = kernels.conv2d(x, k, b, strides=2, padding="same")  # pad_top = pad_left = 2
    expect = np.zeros((6, 6), bool)
    # output (oh, ow) covers input rows 2 * oh - 2 .. 2 * oh + 4, columns likewise
    expect[0:2, 1:4] = True
    assert (np.isnan(y[0]).any(-1) == expect).all()
    assert np.isnan(y[0, 0, 2]).all()

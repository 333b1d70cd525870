"""The CUDA ops on a real GPU (marked `gpu`; skipped where CuPy or a GPU is missing).

Each op runs on CuPy arrays through forgenet._cuda_backend (the object ops._array.backend returns for
CuPy arrays) and is compared, on the same inputs, with
  (a) a float64 numpy reference of the same math: our error must be at most twice that of the same math
      done by CuPy in float32 (plus a tiny floor for results CuPy gets exactly), as FlashAttention's tests
      do, and
  (b) our CPU op (forgenet._C), when the CPU op exists in this build.
Shapes are odd, include batch 1 and sizes that are not multiples of the kernels' tiles.
"""
import numpy as np
import pytest

from gpu_support import GPUS, cupy, f32, like_cupy  # first: skips the module without CuPy or a GPU

import forgenet
from forgenet import _C

pytestmark = pytest.mark.gpu


def like_cpu(what, ours, name, *args, rtol=1e-4, atol=1e-5, **kw):
    """Compares with forgenet._C.<name>(*args) when this build has that CPU op."""
    fn = getattr(_C, name, None)
    if fn is None:
        return
    cpu = fn(*args, **kw)
    outs = ours if isinstance(ours, tuple) else (ours,)
    cpus = cpu if isinstance(cpu, tuple) else (cpu,)
    for i, (o, c) in enumerate(zip(outs, cpus)):
        np.testing.assert_allclose(cupy.asnumpy(o), c, rtol=rtol, atol=atol, err_msg=f"{what} vs CPU, output {i}")


# ------------------------------------------------------------------------------------------- gemm
GEMM_SHAPES = [(1, 1, 1), (1, 37, 5), (5, 1, 9), (67, 45, 33), (129, 130, 257), (20, 30, 3000), (1000, 1100, 70),
               (2049, 2050, 64)]


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("M,N,K", GEMM_SHAPES)
def test_gemm(gpu, rng, trans_a, trans_b, M, N, K):
    a = f32(rng, K, M) if trans_a else f32(rng, M, K)
    b = f32(rng, N, K) if trans_b else f32(rng, K, N)
    c = f32(rng, M, N)
    alpha, beta = 0.75, (0.5 if K % 2 else 0.0)
    op = lambda x, t: x.T if t else x  # noqa: E731
    ref64 = alpha * (op(a.astype(np.float64), trans_a) @ op(b.astype(np.float64), trans_b)) + beta * c
    ga, gb, gc = cupy.asarray(a), cupy.asarray(b), cupy.asarray(c)
    ref32 = alpha * cupy.matmul(op(ga, trans_a), op(gb, trans_b)) + beta * gc
    ours = gpu.gemm(ga, gb, gc, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta)
    what = f"gemm {M}x{N}x{K} ta={trans_a} tb={trans_b}"
    like_cupy(what, ours, ref64, ref32, floor=1e-5)
    like_cpu(what, ours, "gemm", a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, rtol=1e-3,
             atol=1e-4)


def test_gemm_ignores_c_when_beta_is_zero_and_runs_on_the_current_stream(gpu, rng):
    a, b = cupy.asarray(f32(rng, 33, 17)), cupy.asarray(f32(rng, 17, 9))
    c = cupy.full((33, 9), cupy.nan, dtype=cupy.float32)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        out = gpu.gemm(a, b, c, beta=0.0)
    stream.synchronize()
    assert not bool(cupy.isnan(out).any())
    cupy.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------- softmax
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (5, 1000), (2, 3, 300), (257, 10), (4, 5000)])
def test_softmax_forward_backward(gpu, rng, shape):
    x, dy = f32(rng, *shape, lo=-8, hi=8), f32(rng, *shape)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    y64 = e / e.sum(-1, keepdims=True)
    gx, gdy = cupy.asarray(x), cupy.asarray(dy)
    ge = cupy.exp(gx - gx.max(-1, keepdims=True))
    y32 = ge / ge.sum(-1, keepdims=True)
    y = gpu.softmax(gx)
    like_cupy(f"softmax {shape}", y, y64, y32)
    like_cpu(f"softmax {shape}", y, "softmax", x)
    assert isinstance(forgenet.kernels.softmax(gx), cupy.ndarray)  # the public op dispatches here too
    like_cupy(f"ops.softmax axis=0 {shape}", forgenet.kernels.softmax(gx, axis=0),
              np.exp(x64 - x64.max(0)) / np.exp(x64 - x64.max(0)).sum(0),
              cupy.exp(gx - gx.max(0)) / cupy.exp(gx - gx.max(0)).sum(0))

    yf = y64.astype(np.float32)
    dx64 = yf * (dy - (dy.astype(np.float64) * yf).sum(-1, keepdims=True))
    gy = cupy.asarray(yf)
    dx32 = gy * (gdy - (gdy * gy).sum(-1, keepdims=True))
    dx = gpu.softmax_backward(gdy, gy)
    like_cupy(f"softmax_backward {shape}", dx, dx64, dx32)
    like_cpu(f"softmax_backward {shape}", dx, "softmax_backward", dy, yf)


def test_softmax_special_rows_match_cpu(gpu):
    x = np.array([[0, np.nan, 1], [np.inf, 0, 1], [-np.inf] * 3, [1e30, -1e30, 0]], np.float32)
    ours = cupy.asnumpy(gpu.softmax(cupy.asarray(x)))
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(_C.softmax(x)))
    np.testing.assert_allclose(ours[3], _C.softmax(x)[3])


@pytest.mark.parametrize("n,c", [(1, 1), (1, 10), (64, 10), (33, 1000), (7, 32000)])
def test_softmax_cross_entropy(gpu, rng, n, c):
    logits = f32(rng, n, c, lo=-10, hi=10)
    labels = rng.integers(0, c, size=n).astype(np.int64)
    target = rng.dirichlet(np.ones(c), size=n).astype(np.float32)
    l64 = logits.astype(np.float64)
    lse = np.log(np.exp(l64 - l64.max(1, keepdims=True)).sum(1)) + l64.max(1)
    p64 = np.exp(l64 - lse[:, None])
    gl = cupy.asarray(logits)
    glse = cupy.log(cupy.exp(gl - gl.max(1, keepdims=True)).sum(1)) + gl.max(1)
    gp = cupy.exp(gl - glse[:, None])

    loss, grad = forgenet.kernels.softmax_cross_entropy(gl, cupy.asarray(labels))
    onehot = np.zeros((n, c))
    onehot[np.arange(n), labels] = 1  # not np.eye(c)[labels]: 8 GB at c = 32000
    like_cupy("xent sparse loss", loss, lse - l64[np.arange(n), labels], glse - gl[cupy.arange(n), cupy.asarray(labels)])
    like_cupy("xent sparse grad", grad, p64 - onehot, gp - cupy.asarray(onehot, dtype=cupy.float32))
    like_cpu("xent sparse", (loss, grad), "softmax_cross_entropy", logits, labels)

    loss, grad = forgenet.kernels.softmax_cross_entropy(gl, cupy.asarray(target))
    t64, gt = target.astype(np.float64), cupy.asarray(target)
    like_cupy("xent dense loss", loss, (t64 * (lse[:, None] - l64)).sum(1), (gt * (glse[:, None] - gl)).sum(1))
    like_cupy("xent dense grad", grad, p64 * t64.sum(1, keepdims=True) - t64, gp * gt.sum(1, keepdims=True) - gt)
    like_cpu("xent dense", (loss, grad), "softmax_cross_entropy", logits, target)


def test_cross_entropy_bad_label_is_rejected_by_the_op(gpu):
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: labels must be in \[0, 3\)"):
        forgenet.kernels.softmax_cross_entropy(cupy.zeros((2, 3), cupy.float32), cupy.asarray([0, 3]))


# ----------------------------------------------------------------------------- window references
def window_geometry(h, w, kh, kw, sh, sw, padding):
    if padding == "same":
        ho, wo = -(-h // sh), -(-w // sw)
        ph, pw = max((ho - 1) * sh + kh - h, 0), max((wo - 1) * sw + kw - w, 0)
        return ho, wo, (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)
    return (h - kh) // sh + 1, (w - kw) // sw + 1, (0, 0), (0, 0)


def patches(xp, xpad, kh, kw, sh, sw, ho, wo):
    """(i, j, view of xpad[:, i::sh, j::sw] cut to (ho, wo)) for every window offset, in (kh, kw) order."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(i, i + (ho - 1) * sh + 1, sh), slice(j, j + (wo - 1) * sw + 1, sw))


def pool_ref(xp, x, dy, pool, strides, padding, dtype):
    """max / avg pooling forward and backward with TF 'same' rules; max grads go to the first max."""
    x = xp.asarray(x, dtype=dtype)
    dy = xp.asarray(dy, dtype=dtype)
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = pool, strides
    ho, wo, ph, pw = window_geometry(h, w, kh, kw, sh, sw, padding)
    pads = ((0, 0), ph, pw, (0, 0))
    xpad = xp.pad(x, pads, constant_values=-xp.inf)
    real = xp.pad(xp.ones_like(x), pads)
    wins = list(patches(xp, xpad, kh, kw, sh, sw, ho, wo))
    stack = xp.stack([xpad[s] for _, _, s in wins])
    arg = xp.argmax(stack, axis=0)  # first maximum (first NaN when any)
    ymax = xp.take_along_axis(stack, arg[None], axis=0)[0]
    count = sum(real[s] for _, _, s in wins)
    yavg = sum(xp.where(real[s] > 0, xpad[s], 0) for _, _, s in wins) / count
    dmax, davg = xp.zeros_like(xpad), xp.zeros_like(xpad)
    for t, (_, _, s) in enumerate(wins):
        dmax[s] += xp.where(arg == t, dy, 0)
        davg[s] += dy / count * real[s]
    crop = (slice(None), slice(ph[0], ph[0] + h), slice(pw[0], pw[0] + w))
    return ymax, yavg, dmax[crop], davg[crop]


POOL_CASES = [((1, 4, 4, 1), (2, 2), None, "valid"), ((2, 7, 5, 3), (2, 2), None, "valid"),
              ((2, 7, 5, 3), (2, 2), None, "same"), ((1, 9, 9, 4), (3, 3), (1, 1), "same"),
              ((3, 11, 6, 5), (3, 2), (2, 3), "valid"), ((1, 3, 4, 2), (5, 5), (1, 2), "same"),
              ((8, 26, 26, 32), (2, 2), None, "valid"), ((2, 33, 17, 70), (3, 3), (2, 2), "same")]


@pytest.mark.parametrize("shape,pool,strides,padding", POOL_CASES)
def test_pooling(gpu, rng, shape, pool, strides, padding):
    x = f32(rng, *shape)
    s = strides or pool
    ho, wo, _, _ = window_geometry(shape[1], shape[2], *pool, *s, padding)
    dy = f32(rng, shape[0], ho, wo, shape[3])
    r64 = pool_ref(np, x, dy, pool, s, padding, np.float64)
    r32 = pool_ref(cupy, x, dy, pool, s, padding, np.float32)
    gx, gdy = cupy.asarray(x), cupy.asarray(dy)
    kw = dict(pool_size=pool, strides=strides, padding=padding)
    what = f"pool {shape} {pool} {strides} {padding}"
    ymax = gpu.max_pool2d(gx, **kw)
    np.testing.assert_array_equal(cupy.asnumpy(ymax), r64[0].astype(np.float32), err_msg=what)
    like_cupy(what + " avg", gpu.avg_pool2d(gx, **kw), r64[1], r32[1])
    like_cupy(what + " max backward", gpu.max_pool2d_backward(gdy, gx, **kw), r64[2], r32[2])
    like_cupy(what + " avg backward", gpu.avg_pool2d_backward(gdy, gx, **kw), r64[3], r32[3])
    like_cpu(what + " max", ymax, "max_pool2d", x, **kw)
    like_cpu(what + " max backward", gpu.max_pool2d_backward(gdy, gx, **kw), "max_pool2d_backward", dy, x, **kw)
    like_cpu(what + " avg backward", gpu.avg_pool2d_backward(gdy, gx, **kw), "avg_pool2d_backward", dy, x, **kw)


def test_max_pool_nan_wins_like_cpu(gpu, rng):
    x = f32(rng, 1, 4, 4, 2)
    x[0, 1, 1, 0] = np.nan
    ours = cupy.asnumpy(gpu.max_pool2d(cupy.asarray(x)))
    assert np.isnan(ours[0, 0, 0, 0]) and not np.isnan(ours[0, 0, 0, 1])
    if hasattr(_C, "max_pool2d"):
        np.testing.assert_array_equal(ours, _C.max_pool2d(x))


# ---------------------------------------------------------------------------------------- conv2d
def conv_ref(xp, x, k, b, dy, strides, padding, dtype):
    x, k, dy = (xp.asarray(a, dtype=dtype) for a in (x, k, dy))
    n, h, w, cin = x.shape
    kh, kw, _, cout = k.shape
    ho, wo, ph, pw = window_geometry(h, w, kh, kw, *strides, padding)
    xpad = xp.pad(x, ((0, 0), ph, pw, (0, 0)))
    y = xp.zeros((n, ho, wo, cout), dtype)
    dxpad, dk = xp.zeros_like(xpad), xp.zeros_like(k)
    dy2 = dy.reshape(-1, cout)
    for i, j, s in patches(xp, xpad, kh, kw, *strides, ho, wo):
        p = xpad[s].reshape(-1, cin)
        y += (p @ k[i, j]).reshape(n, ho, wo, cout)
        dk[i, j] = p.T @ dy2
        dxpad[s] += (dy2 @ k[i, j].T).reshape(n, ho, wo, cin)
    if b is not None:
        y += xp.asarray(b, dtype=dtype)
    return y, dxpad[:, ph[0]:ph[0] + h, pw[0]:pw[0] + w], dk, dy.sum(axis=(0, 1, 2))


CONV_CASES = [((1, 5, 5, 1), (3, 3, 1, 1), (1, 1), "valid"), ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), "same"),
              ((1, 8, 9, 2), (3, 2, 2, 5), (2, 1), "same"), ((3, 9, 7, 2), (2, 3, 2, 3), (2, 3), "valid"),
              ((1, 4, 4, 3), (5, 5, 3, 2), (1, 1), "same"), ((2, 5, 5, 3), (1, 1, 3, 6), (1, 1), "valid"),
              ((1, 5, 5, 3), (1, 1, 3, 6), (2, 2), "same"), ((16, 28, 28, 1), (3, 3, 1, 32), (1, 1), "valid"),
              ((8, 13, 13, 32), (3, 3, 32, 64), (1, 1), "valid"), ((4, 31, 29, 17), (5, 5, 17, 33), (2, 2), "same")]


@pytest.mark.parametrize("xs,ks,strides,padding", CONV_CASES)
def test_conv2d(gpu, rng, xs, ks, strides, padding):
    x, k, b = f32(rng, *xs), f32(rng, *ks), f32(rng, ks[3])
    ho, wo, _, _ = window_geometry(xs[1], xs[2], ks[0], ks[1], *strides, padding)
    dy = f32(rng, xs[0], ho, wo, ks[3])
    r64 = conv_ref(np, x, k, b, dy, strides, padding, np.float64)
    r32 = conv_ref(cupy, x, k, b, dy, strides, padding, np.float32)
    gx, gk, gb, gdy = (cupy.asarray(a) for a in (x, k, b, dy))
    what = f"conv2d x={xs} k={ks} s={strides} {padding}"
    y = gpu.conv2d(gx, gk, gb, strides=strides, padding=padding)
    like_cupy(what, y, r64[0], r32[0], floor=1e-5)
    like_cpu(what, y, "conv2d", x, k, b, strides=strides, padding=padding, rtol=1e-3, atol=1e-4)
    grads = gpu.conv2d_backward(gdy, gx, gk, strides=strides, padding=padding)
    for name, ours, g64, g32 in zip(("dx", "dkernel", "dbias"), grads, r64[1:], r32[1:]):
        like_cupy(f"{what} {name}", ours, g64, g32, floor=1e-5)
    like_cpu(what + " backward", grads, "conv2d_backward", dy, x, k, strides=strides, padding=padding, rtol=1e-3,
             atol=1e-4)


@pytest.mark.parametrize("xs,ks,strides,padding", [CONV_CASES[1], CONV_CASES[3], CONV_CASES[5], CONV_CASES[7]])
def test_conv2d_backward_without_dx(gpu, rng, xs, ks, strides, padding):
    x, k = f32(rng, *xs), f32(rng, *ks)
    ho, wo, _, _ = window_geometry(xs[1], xs[2], ks[0], ks[1], *strides, padding)
    dy = f32(rng, xs[0], ho, wo, ks[3])
    gx, gk, gdy = (cupy.asarray(a) for a in (x, k, dy))
    dx, dk, db = gpu.conv2d_backward(gdy, gx, gk, strides=strides, padding=padding, need_dx=False)
    assert dx is None
    _, full_dk, full_db = gpu.conv2d_backward(gdy, gx, gk, strides=strides, padding=padding)
    # the same kernels in the same order: bitwise the same as with dx
    assert bool((dk == full_dk).all()) and bool((db == full_db).all())
    r64 = conv_ref(np, x, k, None, dy, strides, padding, np.float64)
    r32 = conv_ref(cupy, x, k, None, dy, strides, padding, np.float32)
    what = f"conv2d_backward need_dx=False x={xs} k={ks} s={strides} {padding}"
    like_cupy(what + " dkernel", dk, r64[2], r32[2], floor=1e-5)
    like_cupy(what + " dbias", db, r64[3], r32[3], floor=1e-5)
    if hasattr(_C, "conv2d_backward"):
        cpu = _C.conv2d_backward(dy, x, k, strides=strides, padding=padding, need_dx=False)
        assert cpu[0] is None
        for name, ours, c in zip(("dkernel", "dbias"), (dk, db), cpu[1:]):
            np.testing.assert_allclose(cupy.asnumpy(ours), c, rtol=1e-3, atol=1e-4, err_msg=f"{what} {name} vs CPU")


@pytest.mark.parametrize("xs,ks,strides,padding", [CONV_CASES[1], CONV_CASES[3], CONV_CASES[5]])
def test_conv2d_backward_without_dbias(gpu, rng, xs, ks, strides, padding):
    """need_db=False: no dbias (None), and dx and dkernel bitwise as with it (the column sums only drop out)."""
    x, k = f32(rng, *xs), f32(rng, *ks)
    ho, wo, _, _ = window_geometry(xs[1], xs[2], ks[0], ks[1], *strides, padding)
    gx, gk, gdy = (cupy.asarray(a) for a in (x, k, f32(rng, xs[0], ho, wo, ks[3])))
    dx, dk, db = gpu.conv2d_backward(gdy, gx, gk, strides=strides, padding=padding, need_db=False)
    assert db is None
    full = gpu.conv2d_backward(gdy, gx, gk, strides=strides, padding=padding)
    assert bool((dx == full[0]).all()) and bool((dk == full[1]).all())
    with pytest.raises(ValueError, match=r"out\[2\] \(dbias\) must be None when need_db=False"):
        gpu.conv2d_backward(gdy, gx, gk, strides=strides, padding=padding, need_db=False,
                            out=(None, None, cupy.zeros(ks[3], cupy.float32)))


def test_conv2d_empty_batch_gives_zero_gradients(gpu):
    x, k = cupy.zeros((0, 5, 5, 2), cupy.float32), cupy.ones((3, 3, 2, 4), cupy.float32)
    dx, dk, db = gpu.conv2d_backward(cupy.zeros((0, 3, 3, 4), cupy.float32), x, k)
    assert dx.shape == (0, 5, 5, 2) and float(abs(dk).sum()) == 0.0 and float(abs(db).sum()) == 0.0


# ------------------------------------------------------------------------- public ops, end to end
@pytest.mark.parametrize("name,args,kw", [
    ("gemm", [(5, 7), (7, 3)], {}),
    ("conv2d", [(2, 6, 6, 3), (3, 3, 3, 4)], {"padding": "same"}),
    ("max_pool2d", [(2, 6, 6, 3)], {}),
    ("avg_pool2d", [(2, 6, 6, 3)], {"pool_size": 3, "strides": 1, "padding": "same"}),
])
def test_public_op_dispatches_to_cuda(rng, name, args, kw):
    fn = getattr(forgenet.kernels, name, None)
    if fn is None:
        pytest.skip(f"forgenet.kernels.{name} is not in this build yet")
    arrays = [f32(rng, *s) for s in args]
    ours = fn(*[cupy.asarray(a) for a in arrays], **kw)
    assert isinstance(ours, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(ours), fn(*arrays, **kw), rtol=1e-4, atol=1e-5)


def test_device_mismatch_and_host_memory_are_clear_errors(gpu, rng):
    with pytest.raises(TypeError, match="softmax: x must be a GPU array"):
        gpu.softmax(np.zeros((2, 3), np.float32))
    if GPUS > 1:
        with cupy.cuda.Device(1):
            x1 = cupy.zeros((2, 3), cupy.float32)
        with pytest.raises(ValueError, match="softmax: x is on CUDA device 1 but the current device is 0"):
            gpu.softmax(x1)

"""The CUDA LSTM (forgenet._cuda.lstm / lstm_backward) on a real GPU (marked `gpu`; skipped without CuPy or a GPU).

As tests/gpu/test_cuda_ops.py: each result is compared, on the same inputs, with
  (a) a float64 numpy reference of the same math: our error must be at most twice that of the same math
      done by CuPy in float32 (plus a small floor relative to the result's scale), and
  (b) forgenet._C's CPU op.
Shapes include batch 1, one step, one unit, empty sizes, units that are not multiples of the GEMM tiles,
and sizes where the per-step and weight-gradient GEMMs split K.
"""
import functools

import numpy as np
import pytest

from gpu_support import cupy, like_cupy  # first: skips the module without CuPy or a GPU

import forgenet
from forgenet import _C

like_cupy = functools.partial(like_cupy, floor=1e-5)  # longer reductions: a looser floor

pytestmark = pytest.mark.gpu


def like_cpu(what, ours, cpu, rtol=1e-4, atol=1e-5):
    """Elementwise against forgenet._C's outputs (numpy); atol is relative to each output's scale."""
    for i, (o, c) in enumerate(zip(ours, cpu)):
        scale = max(1.0, float(np.abs(c).max())) if c.size else 1.0
        np.testing.assert_allclose(cupy.asnumpy(o), c, rtol=rtol, atol=atol * scale,
                                   err_msg=f"{what} vs CPU, output {i}")


def err32(refs64, refs32):
    """CuPy float32's largest error against float64 over some outputs, relative to each one's scale.

    Ours and the CPU op are float32 computations of the same math summed in different orders: on
    ill-conditioned inputs (saturated gates, long sequences) they differ by about the sum of their
    errors, which the like_cupy checks keep near this."""
    errs = [float(np.abs(cupy.asnumpy(r32) - r64).max()) / max(1.0, float(np.abs(r64).max()))
            for r64, r32 in zip(refs64, refs32) if np.size(r64)]
    return max(errs, default=0.0)


def make(rng, N, T, D, U, scale=0.5):
    f32 = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    return f32(N, T, D), f32(N, U), f32(N, U), f32(D, 4 * U), f32(U, 4 * U), f32(4 * U)


def lstm_ref(xp, dtype, x, h0, c0, W, R, b, dy, dh, dc):
    """Forward and backward through time, step by step (Keras gates i, f, c, o), in `dtype` on `xp`.

    Returns (y, h_T, c_T), (dx, dh0, dc0, dkernel, drecurrent_kernel, dbias)."""
    x, h, c, W, R, b = (xp.asarray(a, dtype=dtype) for a in (x, h0, c0, W, R, b))
    sig = lambda z: 1 / (1 + xp.exp(-z))  # noqa: E731
    N, T, _ = x.shape
    U = R.shape[0]
    y, cache = xp.zeros((N, T, U), dtype), []
    for t in range(T):
        z = x[:, t] @ W + h @ R + b
        i, f, g, o = sig(z[:, :U]), sig(z[:, U:2 * U]), xp.tanh(z[:, 2 * U:3 * U]), sig(z[:, 3 * U:])
        cache.append((h, c, i, f, g, o))
        c = f * c + i * g
        h = o * xp.tanh(c)
        y[:, t] = h
    fwd = (y, h, c)
    dh = xp.zeros((N, U), dtype) if dh is None else xp.asarray(dh, dtype=dtype)
    dc = xp.zeros((N, U), dtype) if dc is None else xp.asarray(dc, dtype=dtype)
    dx, dW, dR, db = xp.zeros_like(x), xp.zeros_like(W), xp.zeros_like(R), xp.zeros_like(b)
    for t in reversed(range(T)):
        h_prev, c_prev, i, f, g, o = cache[t]
        if dy is not None:
            dh = dh + xp.asarray(dy[:, t], dtype=dtype)
        tc = xp.tanh(f * c_prev + i * g)
        dc = dc + dh * o * (1 - tc * tc)
        dz = xp.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                             dh * tc * o * (1 - o)], axis=1)
        dx[:, t] = dz @ W.T
        dW += x[:, t].T @ dz
        dR += h_prev.T @ dz
        db += dz.sum(0)
        dh = dz @ R.T
        dc = dc * f
    return fwd, (dx, dh, dc, dW, dR, db)


NAMES = ("y", "h_T", "c_T")
GRAD_NAMES = ("dx", "dh0", "dc0", "dkernel", "drecurrent_kernel", "dbias")
SHAPES = [(1, 1, 3, 7), (2, 5, 4, 33), (3, 1, 1, 16), (1, 9, 5, 1), (5, 7, 17, 70), (64, 20, 256, 130),
          (8, 12, 40, 300), (2, 0, 3, 4), (0, 3, 3, 4)]


@pytest.mark.parametrize("N,T,D,U", SHAPES)
@pytest.mark.parametrize("grads", ["all", "dy_only", "state_only"])
def test_lstm_forward_backward(gpu, rng, N, T, D, U, grads):
    args = make(rng, N, T, D, U)
    dy = None if grads == "state_only" else rng.standard_normal((N, T, U)).astype(np.float32)
    dh = None if grads == "dy_only" else rng.standard_normal((N, U)).astype(np.float32)
    dc = None if grads == "dy_only" else rng.standard_normal((N, U)).astype(np.float32)
    f64, g64 = lstm_ref(np, np.float64, *args, dy, dh, dc)
    f32, g32 = lstm_ref(cupy, cupy.float32, *args, dy, dh, dc)
    gargs = [cupy.asarray(a) for a in args]
    g = lambda a: None if a is None else cupy.asarray(a)  # noqa: E731
    what = f"lstm N={N} T={T} D={D} U={U} {grads}"

    y, hT, cT, reserve = gpu.lstm(*gargs, True)  # positional, as python/forgenet/kernels/lstm.py calls it
    assert reserve.shape == (N, T, 5 * U) and reserve.dtype == cupy.float32
    for name, ours, r64, r32 in zip(NAMES, (y, hT, cT), f64, f32):
        like_cupy(f"{what} {name}", ours, r64, r32)
    cpu_fwd = _C.lstm(*args, True)
    like_cpu(what, (y, hT, cT, reserve), cpu_fwd, atol=max(1e-5, 4 * err32(f64, f32)))

    grads_ours = gpu.lstm_backward(g(dy), g(dh), g(dc), *gargs, reserve)
    for name, ours, r64, r32 in zip(GRAD_NAMES, grads_ours, g64, g32):
        like_cupy(f"{what} {name}", ours, r64, r32)
    tol = dict(rtol=1e-3, atol=max(1e-4, 4 * err32(g64, g32)))
    like_cpu(what + " backward", grads_ours, _C.lstm_backward(dy, dh, dc, *args, cpu_fwd[3]), **tol)
    # the CPU's reserve works on the GPU (one layout for both devices; the values differ by rounding)
    like_cpu(what + " backward from the CPU reserve",
             gpu.lstm_backward(g(dy), g(dh), g(dc), *gargs, cupy.asarray(cpu_fwd[3])),
             [cupy.asnumpy(a) for a in grads_ours], **tol)


def test_public_op_and_a_non_default_stream(rng):
    args = make(rng, 3, 6, 5, 21)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        gargs = [cupy.asarray(a) for a in args]
        y, h, c, reserve = forgenet.kernels.lstm(*gargs, training=True)
        dy = cupy.ones_like(y)
        grads = forgenet.kernels.lstm_backward(dy, None, None, *gargs, reserve)
    stream.synchronize()
    assert all(isinstance(a, cupy.ndarray) for a in (y, h, c, reserve, *grads))
    want = forgenet.kernels.lstm(*args, training=True)
    like_cpu("ops.lstm", (y, h, c, reserve), want)
    like_cpu("ops.lstm_backward", grads,
             forgenet.kernels.lstm_backward(np.ones(want[0].shape, np.float32), None, None, *args, want[3]),
             rtol=1e-3, atol=1e-4)


def test_training_and_inference_agree_and_state_is_last_step(gpu, rng):
    gargs = [cupy.asarray(a) for a in make(rng, 3, 4, 5, 9)]
    y, h, c = gpu.lstm(*gargs)
    y2, h2, c2, reserve = gpu.lstm(*gargs, True)
    cupy.testing.assert_array_equal(y, y2)
    cupy.testing.assert_array_equal(h, y[:, -1])
    cupy.testing.assert_array_equal(c, reserve[:, -1, 4 * 9:])
    cupy.testing.assert_array_equal(c, c2)


def test_activations_match_cpu():
    from forgenet import _cuda

    x = np.concatenate([np.linspace(-90, 90, 200001), np.geomspace(1e-30, 90, 20001), -np.geomspace(1e-30, 90, 20001),
                        [0.0, np.nan, np.inf, -np.inf]]).astype(np.float32)
    s, t = _cuda._lstm_activations(cupy.asarray(x), stream=cupy.cuda.get_current_stream().ptr,
                                   alloc=lambda shape: cupy.empty(shape, cupy.float32))
    cs, ct = _C._lstm_activations(x)
    # same polynomials; FMA contraction may differ between nvcc and the host compiler by an ulp or two
    np.testing.assert_allclose(cupy.asnumpy(s), cs, rtol=1e-6, atol=1e-37)
    np.testing.assert_allclose(cupy.asnumpy(t), ct, rtol=1e-6, atol=1e-37)


def test_nan_flows_through_like_cpu(gpu, rng):
    args = make(rng, 2, 3, 4, 5)
    args[0][0, 1, 2] = np.nan
    y = cupy.asnumpy(gpu.lstm(*[cupy.asarray(a) for a in args])[0])
    np.testing.assert_array_equal(np.isnan(y), np.isnan(_C.lstm(*args)[0]))


def test_empty_sizes_give_states_and_zero_gradients(gpu, rng):
    x, h0, c0, W, R, b = (cupy.asarray(a) for a in make(rng, 2, 0, 3, 4))
    y, h, c, reserve = gpu.lstm(x, h0, c0, W, R, b, True)
    assert y.shape == (2, 0, 4) and reserve.shape == (2, 0, 20)
    cupy.testing.assert_array_equal(h, h0)
    cupy.testing.assert_array_equal(c, c0)
    dh = cupy.asarray(rng.standard_normal((2, 4)).astype(np.float32))
    dx, dh0, dc0, dW, dR, db = gpu.lstm_backward(None, dh, None, x, h0, c0, W, R, b, reserve)
    cupy.testing.assert_array_equal(dh0, dh)
    assert not bool(dc0.any()) and not bool(dW.any()) and not bool(dR.any()) and not bool(db.any())


def test_host_memory_is_a_clear_error(gpu, rng):
    args = make(rng, 2, 3, 4, 5)
    with pytest.raises(TypeError, match="lstm: x must be a GPU array"):
        gpu.lstm(*args)
    gargs = [cupy.asarray(a) for a in args]
    with pytest.raises(ValueError, match=r"lstm: h0 must have shape \(2, 5\) \(batch, units\), got \(1, 5\)"):
        gpu.lstm(gargs[0], gargs[1][:1], *gargs[2:])

"""The fused CUDA Adam update on a real GPU (marked `gpu`; skipped where CuPy or a GPU is missing).
Same rules as tests/gpu/test_cuda_ops.py: each result is compared with a float64 numpy reference of the
same math (our error at most twice that of the same math in CuPy float32, here the ufunc code Adam ran
before, plus a tiny floor) and with forgenet._C. Sizes include 0, 1, odd ones and many blocks' worth.
"""
import math
import os

import numpy as np
import pytest

from gpu_support import cupy, like_cupy  # first: skips the module without CuPy or a GPU

import forgenet
from forgenet import _C, optimizers
from forgenet.autograd import Variable
from support import ufunc_adam, ufunc_rmsprop, ufunc_sgd
from support import adam_ref64 as ref64

pytestmark = pytest.mark.gpu

ARGS = (1.3e-3, 0.9, 0.999, 1e-7)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (5, 3), (2, 3, 5), (1001,), (513, 517), (4096, 1027)])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_update(gpu, rng, shape, amsgrad):
    var, g, m = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    v = rng.uniform(0, 2, shape).astype(np.float32)
    vhat = rng.uniform(0, 2, shape).astype(np.float32) if amsgrad else None
    arrays = (var, g, m, v, vhat)
    want = ref64(*arrays, *ARGS)
    ours = [None if a is None else cupy.asarray(a) for a in arrays]
    ref32 = [None if a is None else cupy.asarray(a) for a in arrays]
    cpu = [None if a is None else a.copy() for a in arrays]
    assert gpu.adam_update(*ours, *ARGS) is None
    ufunc_adam(cupy, *ref32, *ARGS)
    _C.adam_update(*cpu, *ARGS)
    what = f"adam_update {shape} amsgrad={amsgrad}"
    for k, name, w in ((0, "var", want[0]), (2, "m", want[1]), (3, "v", want[2]), (4, "vhat", want[3])):
        if ours[k] is None:
            continue
        like_cupy(f"{what} {name}", ours[k], w, ref32[k])
        # the kernel rounds as the CPU op does (no fma contraction, IEEE sqrt and divide)
        np.testing.assert_allclose(cupy.asnumpy(ours[k]), cpu[k], rtol=1e-6, atol=1e-7, err_msg=f"{what} {name}")
    np.testing.assert_array_equal(cupy.asnumpy(ours[1]), g)  # the gradient is only read


def test_adam_update_bad_inputs(gpu):
    a = [cupy.zeros((4, 3), cupy.float32) for _ in range(4)]
    with pytest.raises(TypeError, match="adam_update: var must be float32"):
        forgenet.kernels.adam_update(a[0].astype(cupy.float64), a[1], a[2], a[3], None, *ARGS)
    with pytest.raises(ValueError, match="adam_update: m must be C-contiguous"):
        gpu.adam_update(a[0], a[1], cupy.zeros((3, 4), cupy.float32).T, a[3], None, *ARGS)
    with pytest.raises(ValueError, match="adam_update: v must have the shape of var"):
        gpu.adam_update(a[0], a[1], a[2], cupy.zeros(12, cupy.float32), None, *ARGS)
    with pytest.raises(ValueError, match="adam_update: m and v must not share memory"):
        gpu.adam_update(a[0], a[1], a[2], a[2], None, *ARGS)
    if os.environ.get("FORGENET_GPU_EMULATE") != "1":  # emulated (tests/gpu/conftest.py), host memory is the device's
        with pytest.raises(ValueError, match="adam_update: var is host memory"):
            gpu.adam_update(_HostIface(np.zeros((4, 3), np.float32)), a[1], a[2], a[3], None, *ARGS)
    with pytest.raises(TypeError, match="adam_update: all arrays must be on the same device"):
        forgenet.kernels.adam_update(a[0], np.zeros((4, 3), np.float32), a[2], a[3], None, *ARGS)


class _HostIface:
    def __init__(self, a):
        self.a = a
        self.__cuda_array_interface__ = {"shape": a.shape, "typestr": "<f4", "strides": None,
                                         "data": (a.ctypes.data, False), "version": 3}


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(learning_rate=0.01),
                                  lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
                                  lambda: optimizers.AdamW(learning_rate=0.01, weight_decay=0.1)])
def test_adam_optimizers_on_the_gpu_step_as_on_the_cpu(rng, make):
    w0 = rng.standard_normal((33, 17)).astype(np.float32)
    grads = [rng.standard_normal((33, 17)).astype(np.float32) for _ in range(5)]
    cpu_var, gpu_var = Variable(w0.copy(), name="w"), Variable(cupy.asarray(w0), name="w")
    cpu_opt, gpu_opt = make(), make()
    for g in grads:
        cpu_opt.apply([g], [cpu_var])
        gpu_opt.apply([cupy.asarray(g)], [gpu_var])
    assert isinstance(gpu_var.data, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(gpu_var.data), cpu_var.data, rtol=1e-6, atol=1e-6)
    for d, c in zip(gpu_opt.variables, cpu_opt.variables):
        np.testing.assert_allclose(cupy.asnumpy(d), c, rtol=1e-6, atol=1e-6)
    assert math.isfinite(float(cupy.abs(gpu_var.data).max()))


# ---- SGD and RMSprop -------------------------------------------------------------------------------------
def _three_ways(arrays, ours_fn, ufunc_fn, cpu_fn, args):
    """(ours on the GPU, CuPy float32 ufuncs, float64 numpy ufuncs, forgenet._C) after one step each."""
    ours = [None if a is None else cupy.asarray(a) for a in arrays]
    ref32 = [None if a is None else cupy.asarray(a) for a in arrays]
    ref64 = [None if a is None else a.astype(np.float64) for a in arrays]
    cpu = [None if a is None else a.copy() for a in arrays]
    assert ours_fn(*ours, *args) is None
    ufunc_fn(cupy, *ref32, *args)
    with np.errstate(all="ignore"):
        ufunc_fn(np, *ref64, *args)
    cpu_fn(*cpu, *args)
    return ours, ref32, ref64, cpu


SIZES = [(0,), (1,), (7,), (2, 3, 5), (1001,), (4096, 1027)]


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.8, True)])
def test_sgd_update(gpu, rng, shape, momentum, nesterov):
    var, g, m = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    arrays = (var, g, m if momentum else None)
    ours, ref32, ref64, cpu = _three_ways(arrays, gpu.sgd_update, ufunc_sgd, _C.sgd_update, (0.05, momentum, nesterov))
    for k in (0, 2):
        if ours[k] is not None:
            what = f"sgd_update {shape} momentum={momentum} nesterov={nesterov} #{k}"
            like_cupy(what, ours[k], ref64[k], ref32[k])
            np.testing.assert_allclose(cupy.asnumpy(ours[k]), cpu[k], rtol=1e-6, atol=1e-7, err_msg=what)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("centered, momentum", [(False, 0.0), (True, 0.0), (False, 0.5), (True, 0.9)])
def test_rmsprop_update(gpu, rng, shape, centered, momentum):
    var, g, avg, mom = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
    v = rng.uniform(1, 2, shape).astype(np.float32)
    arrays = (var, g, v, (avg * 0.1).astype(np.float32) if centered else None, mom if momentum else None)
    ours, ref32, ref64, cpu = _three_ways(arrays, gpu.rmsprop_update, ufunc_rmsprop, _C.rmsprop_update,
                                          (0.01, 0.9, momentum, 1e-7))
    for k in (0, 2, 3, 4):
        if ours[k] is not None:
            what = f"rmsprop_update {shape} centered={centered} momentum={momentum} #{k}"
            like_cupy(what, ours[k], ref64[k], ref32[k])
            np.testing.assert_allclose(cupy.asnumpy(ours[k]), cpu[k], rtol=1e-6, atol=1e-7, err_msg=what)


def test_sgd_rmsprop_bad_inputs(gpu):
    a = [cupy.zeros((5,), cupy.float32) for _ in range(3)]
    with pytest.raises(ValueError, match=r"sgd_update: m is None \(plain SGD\) but momentum is 0.9"):
        gpu.sgd_update(a[0], a[1], None, 0.1, 0.9, False)
    with pytest.raises(ValueError, match="rmsprop_update: v and mom must not share memory"):
        gpu.rmsprop_update(a[0], a[1], a[2], None, a[2], 0.1, 0.9, 0.5, 1e-7)


@pytest.mark.parametrize("make", [lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                                  lambda: optimizers.SGD(learning_rate=0.1),
                                  lambda: optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
                                  lambda: optimizers.RMSprop(learning_rate=0.01)])
def test_sgd_rmsprop_on_the_gpu_step_as_on_the_cpu(rng, make):
    test_adam_optimizers_on_the_gpu_step_as_on_the_cpu(rng, make)

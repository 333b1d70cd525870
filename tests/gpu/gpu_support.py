"""What the tests in tests/gpu share: the skip where CuPy or a GPU is missing (importing this module
raises it, so a test module skips as a whole), random float32 inputs, and the FlashAttention-style
accuracy rule.

A module of its own rather than conftest.py, which test modules should not import.
"""
import numpy as np
import pytest

cupy = pytest.importorskip("cupy")
try:
    GPUS = cupy.cuda.runtime.getDeviceCount()
except Exception:  # no driver
    GPUS = 0
if GPUS == 0:
    pytest.skip("no CUDA GPU", allow_module_level=True)


def f32(rng, *shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def like_cupy(what, ours, ref64, ref32, floor=1e-6):
    """Our max error against the float64 reference is at most 2x CuPy float32's (+ floor * scale)."""
    ours = cupy.asnumpy(ours).astype(np.float64)
    ref32 = cupy.asnumpy(ref32).astype(np.float64)
    ref64 = np.asarray(ref64, dtype=np.float64)
    assert ours.shape == ref64.shape, f"{what}: shape {ours.shape} != {ref64.shape}"
    if ours.size == 0:
        return
    scale = max(1.0, float(np.abs(ref64).max()))
    err, err_ref = float(np.abs(ours - ref64).max()), float(np.abs(ref32 - ref64).max())
    assert err <= 2 * err_ref + floor * scale, f"{what}: our error {err:.3g}, CuPy float32's {err_ref:.3g}"

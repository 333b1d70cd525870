"""Sizes past 2^31 elements and grid limits on a real GPU (marked `gpu`; H100/H200-class memory): the
index arithmetic is int64 throughout and every launch stays within CUDA's grid limits for any size the
contracts admit. Checked against closed forms, so no float64 reference of tens of GB is needed."""
import os

import numpy as np
import pytest

from gpu_support import cupy  # first: skips the module without CuPy or a GPU

if os.environ.get("FORGENET_GPU_EMULATE") == "1":  # gigabytes of fibers: meaningless on the emulator
    pytest.skip("sizes past 2^31 are for a real GPU", allow_module_level=True)

import forgenet.kernels as K

pytestmark = pytest.mark.gpu

BIG = (1 << 31) + 7  # elements: past int32


def _free_bytes():
    free, _ = cupy.cuda.runtime.memGetInfo()
    return free


def need(nbytes):
    if _free_bytes() < nbytes * 1.2:
        pytest.skip(f"needs {nbytes / 2**30:.1f} GiB of free GPU memory")


def test_softmax_more_rows_than_the_grid():
    rows = (1 << 22) + 3  # past the row kernels' 2^20 blocks: blocks loop over rows
    need(rows * 2 * 2 * 4)
    x = cupy.zeros((rows, 2), cupy.float32)
    x[-1, 1] = 3.0
    y = K.softmax(x)
    assert float(y[0, 0]) == pytest.approx(0.5)
    assert float(y[-1, 1]) == pytest.approx(np.exp(3) / (1 + np.exp(3)), rel=1e-6)


def test_softmax_past_2_31_elements():
    need(BIG * 4 * 2)
    x = cupy.ones((BIG // 7, 7), cupy.float32)
    y = K.softmax(x)
    assert float(y[-1, -1]) == pytest.approx(1 / 7, rel=1e-6)
    assert float(y.sum()) == pytest.approx(BIG // 7, rel=1e-4)


def test_gemm_wide_output_tiles_in_grid_x():
    n = 5 << 20  # 5M columns: more column tiles than grid.y's 65535
    need(n * 4 * 4)
    a = cupy.ones((2, 1), cupy.float32)
    b = cupy.arange(n, dtype=cupy.float32).reshape(1, n) % 97
    c = K.gemm(a, b)
    assert c.shape == (2, n)
    cupy.testing.assert_array_equal(c[1], b[0])


def test_elementwise_past_2_31():
    need(BIG * 4 * 3)
    var = cupy.zeros(BIG, cupy.float32)
    g = cupy.ones(BIG, cupy.float32)
    K.sgd_update(var, g, None, 0.5, 0.0, False)
    assert float(var[-1]) == -0.5 and float(var[0]) == -0.5


def test_max_pool_past_2_31():
    h = (1 << 16) + 1
    w = (1 << 15) + 3
    need(h * w * 4 * 2)
    x = cupy.zeros((1, h, w, 1), cupy.float32)
    x[0, -1, -1, 0] = 2.0
    y = K.max_pool2d(x, pool_size=2, padding="same")
    assert y.shape == (1, (h + 1) // 2, (w + 1) // 2, 1)
    assert float(y[0, -1, -1, 0]) == 2.0

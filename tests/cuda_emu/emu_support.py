"""Helpers for the emulated forgenet._cuda tests (tests/cuda_emu/conftest.py builds the module).

`D(a)` presents a numpy array as device memory (the emulated kernels dereference host pointers),
`host(out)` turns an op's result back into numpy, `same` compares with forgenet._C's result.
"""
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
CHECKERS = sorted(HERE.glob("check_*.cpp"))  # one program each, built by conftest.emu


class HostDeviceArray:
    """A numpy array behind __cuda_array_interface__."""

    def __init__(self, a):
        self.a = np.ascontiguousarray(a)
        self.__cuda_array_interface__ = {"shape": self.a.shape, "typestr": self.a.dtype.str, "strides": None,
                                         "data": (self.a.ctypes.data, False), "version": 3}


D = HostDeviceArray


def alloc(shape):
    return HostDeviceArray(np.full(shape, np.nan, np.float32))  # NaN: anything not written shows


def host(out):
    return tuple(o.a for o in out) if isinstance(out, tuple) else out.a


def same(what, ours, cpu, rtol=1e-5, atol=1e-5):
    ours = ours if isinstance(ours, tuple) else (ours,)
    cpu = cpu if isinstance(cpu, tuple) else (cpu,)
    assert len(ours) == len(cpu), what
    for i, (o, c) in enumerate(zip(ours, cpu)):
        np.testing.assert_allclose(o, c, rtol=rtol, atol=atol, err_msg=f"{what}, output {i}")

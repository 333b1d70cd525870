"""Builds the emulated forgenet._cuda once per session (no GPU, no nvcc needed): the `emu` fixture wraps
emu_support.build_emulated (which says how), `ops` binds forgenet._cuda_backend to it."""
from types import SimpleNamespace

import numpy as np
import pytest

from emu_support import EmulatorUnavailable, alloc, build_emulated


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    """SimpleNamespace(checkers={name: executable}, module=the emulated _cuda)."""
    try:
        return build_emulated(tmp_path_factory.mktemp("cuda_emu"))
    except EmulatorUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def ops(emu):
    """forgenet._cuda_backend's wrapper around the emulated module, with a CuPy stand-in."""
    from forgenet import _cuda_backend

    fake_cupy = SimpleNamespace(float32=np.float32, empty=lambda shape, dtype: alloc(shape),
                                cuda=SimpleNamespace(get_current_stream=lambda: SimpleNamespace(ptr=0)))
    return _cuda_backend._Ops(emu.module, fake_cupy)

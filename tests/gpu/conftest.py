"""A dry run of the GPU tests on the CPU, opt-in:

    FORGENET_GPU_EMULATE=1 python -m pytest tests/gpu -m gpu

runs tests/gpu/ against the emulated forgenet._cuda (tests/cuda_emu/emu_support.build_emulated: the real
.cu kernels and bindings, compiled by the host compiler, each CUDA thread a fiber) with the numpy-backed
CuPy stand-in tests/cuda_emu/fake_cupy.py in sys.modules["cupy"] (and "cupyx"). It catches bugs in the
tests themselves (a CuPy call that does not exist, a wrong reference, a host array where a device one is
needed) before a GPU's scarce time is spent on them. It cannot say anything about speed, real
concurrency, FMA contraction or nvcc. Tests the emulator cannot run in reasonable time are skipped
(EMULATOR_SKIPS below, by test function and parameters). Without the variable this file does nothing.
"""
import os
import pathlib
import sys

import pytest

EMULATE = os.environ.get("FORGENET_GPU_EMULATE") == "1"
HERE = pathlib.Path(__file__).resolve().parent

# (test function, parameters it must have or None for all, why): skipped under emulation only
EMULATOR_SKIPS = [
    ("test_attention_memory_is_linear_in_n", None,
     "N = 16384 causal attention (~10^11 flops) and a pool measure that means nothing on the host"),
    ("test_layer_norm_forward_backward", {"shape": (100000, 3)},
     "100000 rows: a block of fibers per row, with barriers, takes many minutes"),
    # an epoch of training each (the CNN epoch alone runs > 12 minutes emulated); their one-step parts too
    ("test_cnn_epoch_reaches_the_cpu_accuracy", None, "an epoch of the MNIST CNN on 3000 images"),
    ("test_text_model_epoch_reaches_the_cpu_loss", None, "an epoch of the two-LSTM text model on 10000 windows"),
    ("test_char_transformer_trains_as_on_the_cpu", None, "an epoch of the character Transformer"),
]

if EMULATE:  # before any test module's `pytest.importorskip("cupy")`
    sys.path.insert(0, str(HERE.parent / "cuda_emu"))
    import fake_cupy

    sys.modules["cupy"] = fake_cupy.make_module()
    sys.modules["cupyx"] = fake_cupy.make_cupyx()


def pytest_collection_modifyitems(config, items):
    if not EMULATE:
        return
    for item in items:
        if item.path.resolve().parent != HERE:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        for name, where, why in EMULATOR_SKIPS:
            if item.originalname == name and all(params.get(k) == v for k, v in (where or {}).items()):
                item.add_marker(pytest.mark.skip(reason=f"too slow for the emulator: {why}"))


@pytest.fixture(scope="session", autouse=True)
def _emulated_cuda(request, tmp_path_factory):
    """Under FORGENET_GPU_EMULATE=1: forgenet._cuda and _cuda_backend bound to the emulated module (kept
    in .pytest_cache between runs, keyed by the sources, when the cache plugin is on)."""
    if not EMULATE:
        yield None
        return
    import forgenet
    from forgenet import _cuda_backend
    from emu_support import build_emulated_cached

    cache = getattr(request.config, "cache", None)
    where = cache.mkdir("forgenet_gpu_emulated") if cache is not None else tmp_path_factory.mktemp("gpu_emulated")
    # -O2: the kernels' arithmetic dominates at these sizes; the real column budget, as on the GPU
    emu = build_emulated_cached(where, flags=["-O2", "-UFORGENET_CONV_COLUMN_BUDGET"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "forgenet._cuda", emu.module)
        mp.setattr(forgenet, "_cuda", emu.module, raising=False)  # `from forgenet import _cuda` finds it
        mp.setattr(_cuda_backend, "_ops", _cuda_backend._Ops(emu.module, sys.modules["cupy"]))
        yield emu


@pytest.fixture(scope="session")
def gpu():
    """forgenet._cuda_backend's op object (a GPU and CuPy are here, so forgenet._cuda must load)."""
    from forgenet import _cuda_backend

    return _cuda_backend.module("test")

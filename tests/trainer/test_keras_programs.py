"""Each program of trainer_programs.py runs once with Keras 3 (torch backend) and once with forgenet,
from the same weights: History keys and values, evaluate results and predictions must agree."""
import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the import

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

import forgenet  # noqa: E402

import trainer_programs as programs  # noqa: E402


def compare(ours, theirs, path="result"):
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{path}: {type(ours).__name__} instead of a dict"
        assert list(ours) == list(theirs), f"{path}: keys {list(ours)} != Keras's {list(theirs)}"
        for k in theirs:
            compare(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, (list, tuple)) and not (theirs and isinstance(theirs[0], (int, float, np.floating))):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), f"{path}: {ours!r} vs {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            compare(a, b, f"{path}[{i}]")
    elif isinstance(theirs, str):
        assert ours == theirs, path
    else:
        theirs = np.asarray(keras.ops.convert_to_numpy(theirs) if torch.is_tensor(theirs) else theirs, np.float64)
        np.testing.assert_allclose(np.asarray(ours, np.float64), theirs, rtol=2e-4, atol=2e-5, err_msg=path)


@pytest.mark.parametrize("program", programs.PROGRAMS, ids=lambda p: p.__name__)
def test_program_matches_keras(program):
    keras.utils.set_random_seed(0)
    theirs = program(keras)
    forgenet.utils.set_random_seed(0)
    ours = program(forgenet)
    compare(ours, theirs, program.__name__)

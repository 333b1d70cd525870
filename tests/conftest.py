import os
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path | None:
    """../shared/data beside the checkout (or $FORGENET_SHARED_DATA), None when absent."""
    env = os.environ.get("FORGENET_SHARED_DATA")
    for cand in ([pathlib.Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same forgenet seed, so layer weights (and any finite-difference
    check through them) are the same run after run."""
    import forgenet

    forgenet.utils.set_random_seed(1234)


@pytest.fixture
def shared_data():
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data is not present on this machine")
    return d

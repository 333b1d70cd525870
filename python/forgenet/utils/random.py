from __future__ import annotations

import random

import numpy as np

# One generator for initializers, dropout masks and shuffling: seeding it makes a CPU run repeatable.
_rng = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    """Seed forgenet, numpy's global generator and Python's `random` (as keras.utils.set_random_seed)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"set_random_seed: seed must be an int, got {type(seed).__name__}")
    _rng = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)
    random.seed(int(seed))


def get_rng() -> np.random.Generator:
    return _rng

"""Inverted dropout: kept units are scaled by 1/(1-rate) in training, so inference is the identity."""
from __future__ import annotations

import numpy as np

from forgenet.autograd.tensor import Function, array_module
from forgenet.utils import get_rng


class _Dropout(Function):
    def forward(self, x, rate, rng):
        xp = array_module(x)
        if rate >= 1.0:
            mask = xp.zeros(x.shape, dtype=x.dtype)
        else:
            keep = rng.random(x.shape, dtype=np.float32) >= rate
            mask = xp.asarray(keep.astype(x.dtype) * np.float32(1.0 / (1.0 - rate)))
        self.save(mask)
        return x * mask

    def backward(self, g):
        return g * self.saved[0], None, None


def dropout(x, rate, rng=None):
    """Zero each element with probability `rate`, scale the rest by 1/(1-rate).

    Masks come from `rng` (a numpy Generator), by default forgenet's seeded generator
    (`forgenet.utils.get_rng()`), so `set_random_seed` makes training repeatable.
    """
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1], got {rate}")
    if rate == 0.0:
        return x
    return _Dropout.apply(x, rate, rng if rng is not None else get_rng())

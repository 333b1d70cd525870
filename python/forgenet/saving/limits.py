"""What a file may declare before forgenet believes it: shapes, weight counts and sizes are checked
against the file's real size before anything is built or allocated."""
from __future__ import annotations

import math
import numbers

MAX_DIM = 2 ** 40  # any single dimension
MAX_PROBE_ELEMENTS = 2 ** 28  # one sample of a recorded build shape (a model is built by running it once)
MAX_CONFIG_BYTES = 64 << 20  # config.json / a safetensors header
MAX_METADATA_BYTES = 1 << 20
ZIP_MAX_EXPANSION = 100  # an uncompressed member at most this many times its stored size ...
ZIP_EXPANSION_FLOOR = 1 << 20  # ... unless it is smaller than this
H5_MAX_EXPANSION = 1000  # the same for an HDF5 dataset's declared vs stored bytes
H5_EXPANSION_FLOOR = 4096


def checked_shape(shape, who):
    """A build shape from a file: a list of non-negative ints (None for the batch) of sane size."""
    if not isinstance(shape, (list, tuple)) or not shape:
        raise ValueError(f"{who}: a recorded input shape must be a non-empty list, got {shape!r}")
    out = []
    for i, d in enumerate(shape):
        if d is None:
            out.append(None)
            continue
        if not isinstance(d, numbers.Integral) or isinstance(d, bool) or not 0 <= d <= MAX_DIM:
            raise ValueError(f"{who}: a recorded input shape holds an invalid dimension {d!r}: {shape!r}")
        out.append(int(d))
    per_sample = math.prod(d or 1 for d in out[1:])
    if per_sample > MAX_PROBE_ELEMENTS:
        raise ValueError(f"{who}: the recorded input shape {shape!r} has {per_sample} elements per sample "
                         f"(more than {MAX_PROBE_ELEMENTS}); refusing to build from it")
    return tuple(out)


class WeightBudget:
    """Charged by Layer.add_weight while a model is rebuilt from a file: the architecture may not ask for
    more weight elements than the file holds, so a tiny file cannot make forgenet allocate and
    initialise billions of weights."""

    def __init__(self, elements: int, who: str, path: str):
        self.left, self.total, self.who, self.path = int(elements), int(elements), who, path

    def charge(self, layer_name, weight_name, shape):
        n = math.prod(int(s) for s in shape)
        if n > self.left:
            raise ValueError(f"{self.who}: {self.path}: the model's config declares more weights than the file "
                             f"holds (weight {weight_name!r} of layer {layer_name!r} with shape {tuple(shape)} "
                             f"exceeds the {self.total} weight values stored); refusing to build it")
        self.left -= n


def budget_scope(budget):
    """`with budget_scope(WeightBudget(...)):` applies the budget to every add_weight inside."""
    import contextlib

    from forgenet.layers import base

    @contextlib.contextmanager
    def scope():
        token = base.weight_budget.set(budget)
        try:
            yield budget
        finally:
            base.weight_budget.reset(token)

    return scope()

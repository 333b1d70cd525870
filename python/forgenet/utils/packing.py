"""How a batch is packed (Keras's keras.utils.pack_x_y_sample_weight / unpack_x_y_sample_weight)."""
from __future__ import annotations


def unpack_x_y_sample_weight(data):
    """(x, y, sample_weight) from a batch: a tuple of 1-3 items, or anything else as x alone."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found a tuple of {len(data)} items")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The inverse: x alone (wrapped in a tuple when it is a list or tuple itself), (x, y) or (x, y, sw)."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)

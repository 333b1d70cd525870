"""keras.utils.to_categorical and keras.utils.normalize (numpy in, numpy out; no np.linalg)."""
from __future__ import annotations

import numpy as np


def _np(x):
    from forgenet.autograd.tensor import Tensor

    if isinstance(x, Tensor):
        return x.numpy()
    return x.get() if type(x).__module__.startswith("cupy") else np.asarray(x)


def to_categorical(x, num_classes=None):
    """Integer class ids -> one-hot float rows (Keras: a trailing axis of 1 is dropped first)."""
    x = np.array(_np(x), dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = tuple(shape[:-1])
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        bad = int(x.min()) if x.min() < 0 else int(x.max())
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}) for num_classes={num_classes}, "
                         f"got {bad}")
    out = np.zeros((x.shape[0], num_classes))
    out[np.arange(x.shape[0]), x] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """x divided by its `order`-norm along `axis` (zero norms left as 1), as keras.utils.normalize."""
    from forgenet.autograd.tensor import Tensor

    if isinstance(x, Tensor):
        from forgenet import ops
        return ops.normalize(x, axis=axis, order=order)
    x = np.asarray(x)
    a = np.abs(x)
    if order == 2:
        norm = np.sqrt((a * a).sum(axis=axis))
    elif order == 1:
        norm = a.sum(axis=axis)
    elif order in (np.inf, "inf"):
        norm = a.max(axis=axis)
    elif isinstance(order, (int, float)) and order > 0:
        norm = (a ** order).sum(axis=axis) ** (1.0 / order)
    else:
        raise ValueError(f"normalize: order must be a positive number or inf, got {order!r}")
    norm = np.atleast_1d(norm)
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)  # (Keras writes `axis or -1`, which breaks axis=0)

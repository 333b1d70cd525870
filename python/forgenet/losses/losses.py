"""Losses with Keras 3's names, formulas and reductions.

Each loss is a small `Function` computing the per-sample loss (reduced over the last axis as Keras
does) with its own backward, then the reduction (default: the mean over the batch). Cross-entropy
on probabilities first asks `functional.softmax_logits` whether the prediction is a last-axis
softmax; if so it takes the fused softmax-cross-entropy kernel on the logits (what Keras does with
`_keras_logits`), otherwise it clips probabilities to [1e-7, 1 - 1e-7] like Keras.
"""
from __future__ import annotations

import numpy as np

from forgenet import functional as F
from forgenet.autograd.tensor import Function, Tensor, array_module

EPSILON = 1e-7  # keras.config.epsilon()
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


class Loss:
    """Base class: `__call__(y_true, y_pred, sample_weight=None)` -> scalar Tensor (per `reduction`)."""

    target_dtype = np.float32  # what fit converts y to once, before training

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {list(_REDUCTIONS)}, got {reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred) -> Tensor:
        """Per-sample losses (the batch shape of y_pred, its last axis reduced)."""
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)  # a masked output (Keras): masked steps weigh 0
        if not isinstance(y_pred, Tensor):
            cupy_array = type(y_pred).__module__.startswith("cupy")
            y_pred = Tensor(y_pred if cupy_array else np.asarray(y_pred, dtype=np.float32))
        return reduce_weighted_values(self.call(y_true, y_pred), sample_weight, mask, self.reduction)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _same_rank_pair(values, weights):
    """Keras's squeeze_or_expand_to_same_rank for (per-sample losses, weights): a trailing 1 is reconciled."""
    vr, wr = values.ndim, weights.ndim
    if vr == wr + 1 and values.shape[-1] == 1:
        if wr == 1:
            weights = weights.reshape(weights.shape + (1,))
        else:
            values = values.reshape(values.shape[:-1])
    elif wr == vr + 1 and weights.shape[-1] == 1:
        if vr == 1:
            values = values.reshape(values.shape + (1,))
        else:
            weights = weights.reshape(weights.shape[:-1])
    return values, weights


def apply_mask(sample_weight, mask, xp, reduction):
    """Fold a mask into the sample weights; for the mean reductions the kept entries are scaled by
    total / kept, so the mean is over the unmasked entries only (Keras's apply_mask)."""
    if mask is None:
        return sample_weight
    mask = xp.asarray(_data(mask))
    if reduction in ("mean", "sum_over_batch_size"):
        kept = float(mask.astype(np.float32).sum())
        scale = mask.size / kept if kept else 0.0
        float_mask = mask.astype(bool).astype(np.float32) * np.float32(scale)
    else:
        float_mask = mask.astype(np.float32)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = _same_rank_pair(float_mask, xp.asarray(sample_weight, dtype=np.float32))
    return sample_weight * float_mask


def reduce_weighted_values(losses: Tensor, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Weight, mask and reduce per-sample losses as Keras does: "sum_over_batch_size" divides the
    weighted sum by the number of entries (not by the sum of the weights)."""
    xp = array_module(losses.data)
    w = None if sample_weight is None else xp.asarray(_data(sample_weight), dtype=np.float32)
    w = apply_mask(w, mask, xp, reduction)
    if w is not None:
        losses, w = _same_rank_pair(losses, w)
        losses = losses * w
    if reduction in ("none", None) or losses.shape in ((), (0,)):
        return losses
    total = F.sum(losses)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and w is not None:
        divisor = float(xp.broadcast_to(w, losses.shape).sum()) if w.ndim else float(w) * losses.size
    else:
        divisor = losses.size
    return total * (1.0 / divisor if divisor else 0.0)


def _snake(name):
    import re

    s = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()


def _same_rank(y_true, y_pred_shape):
    """Keras's squeeze_or_expand_to_same_rank for the target: drop or add a trailing 1."""
    if y_true.ndim == len(y_pred_shape) + 1 and y_true.shape[-1] == 1:
        return y_true.reshape(y_true.shape[:-1])
    if len(y_pred_shape) == y_true.ndim + 1 and y_pred_shape[-1] == 1:
        return y_true.reshape(y_true.shape + (1,))
    return y_true


def _float_target(loss, y_true, y_pred):
    xp = array_module(y_pred.data)
    t = xp.asarray(_data(y_true))
    if t.dtype != np.float32:
        t = t.astype(np.float32)
    t = _same_rank(t, y_pred.shape)
    if t.shape != y_pred.shape:
        raise ValueError(f"{loss.name}: y_true and y_pred must have the same shape, got y_true of shape "
                         f"{tuple(t.shape)} and y_pred of shape {y_pred.shape}")
    return t


# ---- cross-entropy on probabilities (the path when no logits are known) ---------------------------
class _CrossEntropyProbs(Function):
    """-sum(t * log(clip(p / sum(p), eps, 1 - eps))) over the last axis; t one-hot/probabilities or ids."""

    def forward(self, p, t, sparse):
        xp = array_module(p)
        s = p.sum(axis=-1, keepdims=True)
        q = p / s
        qc = xp.clip(q, EPSILON, 1.0 - EPSILON)
        if sparse:  # ids -> one-hot (a mask; same code on numpy and CuPy)
            t = (xp.arange(p.shape[-1]) == t[..., None]).astype(p.dtype)
        loss = -(t * xp.log(qc)).sum(axis=-1)
        self.save(s, q, qc, t)
        return loss.astype(np.float32, copy=False)

    def backward(self, g):
        s, q, qc, t = self.saved
        dqc = -t / qc * g[..., None]
        dq = dqc * ((q >= EPSILON) & (q <= 1.0 - EPSILON))  # clip passes the gradient only inside the range
        dp = (dq - (dq * q).sum(axis=-1, keepdims=True)) / s  # through q = p / sum(p)
        return dp.astype(np.float32, copy=False), None, None


def _fused(logits: Tensor, target):
    """Per-sample softmax cross-entropy on the fused kernel, for any leading shape."""
    lead = logits.shape[:-1]
    c = logits.shape[-1]
    flat = logits if logits.ndim == 2 else logits.reshape(-1, c)
    t = target.reshape(-1) if target.ndim == len(lead) else target.reshape(-1, c)
    loss = F.softmax_cross_entropy(flat, t)
    return loss if logits.ndim == 2 else loss.reshape(lead)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy between integer class ids y_true (batch,) or (batch, 1) and y_pred (batch, C)."""

    target_dtype = np.int64

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction)
        if ignore_class is not None and (not isinstance(ignore_class, (int, np.integer)) or isinstance(ignore_class, bool)):
            raise ValueError(f"{self.name}: ignore_class must be an int class id or None, got {ignore_class!r}")
        self.from_logits = bool(from_logits)
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def labels(self, y_true, y_pred):
        xp = array_module(y_pred.data)
        t = xp.asarray(_data(y_true))
        if t.ndim == y_pred.ndim and t.shape[-1] == 1:
            t = t.reshape(t.shape[:-1])
        if t.shape != y_pred.shape[:-1]:
            hint = (" (one-hot targets need categorical_crossentropy)"
                    if t.shape == y_pred.shape else "")
            raise ValueError(f"{self.name}: expected integer class ids of shape {y_pred.shape[:-1]} (or "
                             f"{y_pred.shape[:-1] + (1,)}) for predictions of shape {y_pred.shape}, got y_true of "
                             f"shape {tuple(t.shape)}{hint}")
        if t.dtype != np.int64:
            if t.dtype.kind == "f" and t.size and bool((t != xp.floor(t)).any()):
                raise ValueError(f"{self.name}: y_true must hold integer class ids, got non-integer values")
            t = t.astype(np.int64)
        return t

    def _check_range(self, t, c):
        if t.size:
            lo, hi = int(t.min()), int(t.max())
            if lo < 0 or hi >= c:
                raise ValueError(f"{self.name}: labels must be class ids in [0, {c}) since y_pred has {c} classes, "
                                 f"got {lo if lo < 0 else hi}")

    def call(self, y_true, y_pred):
        if y_pred.ndim < 1:
            raise ValueError(f"{self.name}: y_pred must have a class axis, got a scalar")
        t = self.labels(y_true, y_pred)
        c = y_pred.shape[-1]
        logits = y_pred if self.from_logits else F.softmax_logits(y_pred)
        valid = None
        if self.ignore_class is not None:
            valid = t != self.ignore_class
            t = t * valid
        self._check_range(t, c)
        loss = _fused(logits, t) if logits is not None else _CrossEntropyProbs.apply(y_pred, t, True)
        return loss if valid is None else _ignore(loss, valid, self.reduction)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": self.ignore_class}


def _ignore(loss, valid, reduction):
    """Keras's masking for ignore_class: ignored positions lose 0, and for the batch mean each valid one
    weighs total / (valid + eps), so the mean is over the valid positions only."""
    w = valid.astype(np.float32)
    if reduction in ("sum_over_batch_size", "mean"):
        w = w * np.float32(valid.size / (float(valid.sum()) + EPSILON))
    return loss * w


class _SmoothedCrossentropy(Loss):
    """What the categorical and binary cross-entropies share: from_logits, label_smoothing, axis=-1."""

    def __init__(self, from_logits, label_smoothing, axis, reduction, name):
        super().__init__(name=name, reduction=reduction)
        if axis not in (-1,):
            raise ValueError(f"{self.name}: only axis=-1 is supported, got {axis!r}")
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = -1

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class CategoricalCrossentropy(_SmoothedCrossentropy):
    """Cross-entropy between one-hot (or probability) targets and y_pred, both (batch, C)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)

    def call(self, y_true, y_pred):
        xp = array_module(y_pred.data)
        t = xp.asarray(_data(y_true))
        if t.shape != y_pred.shape:
            hint = " (integer class ids need sparse_categorical_crossentropy)" if t.shape == y_pred.shape[:-1] else ""
            raise ValueError(f"{self.name}: expected one-hot targets of shape {y_pred.shape} like y_pred, got y_true "
                             f"of shape {tuple(t.shape)}{hint}")
        t = t.astype(np.float32, copy=False)
        if self.label_smoothing:
            c = y_pred.shape[-1]
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / c
        logits = y_pred if self.from_logits else F.softmax_logits(y_pred)
        if logits is not None:
            return _fused(logits, t)
        return _CrossEntropyProbs.apply(y_pred, t, False)


# ---- binary cross-entropy -----------------------------------------------------------------------
class _BinaryCrossEntropy(Function):
    """mean over the last axis of -(t log p + (1 - t) log(1 - p)), p clipped to [eps, 1 - eps]."""

    def forward(self, p, t):
        xp = array_module(p)
        pc = xp.clip(p, EPSILON, 1.0 - EPSILON)
        loss = -(t * xp.log(pc) + (1.0 - t) * xp.log(1.0 - pc))
        self.save(p, pc, t)
        return loss.mean(axis=-1).astype(np.float32, copy=False)

    def backward(self, g):
        p, pc, t = self.saved
        inside = (p >= EPSILON) & (p <= 1.0 - EPSILON)
        d = (pc - t) / (pc * (1.0 - pc)) * inside
        return (d * (g[..., None] / p.shape[-1])).astype(np.float32, copy=False), None


class _BinaryCrossEntropyLogits(Function):
    """Stable form on logits x: max(x, 0) - x t + log(1 + exp(-|x|)); gradient sigmoid(x) - t."""

    def forward(self, x, t):
        xp = array_module(x)
        loss = xp.maximum(x, 0.0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        self.save(x, t)
        return loss.mean(axis=-1).astype(np.float32, copy=False)

    def backward(self, g):
        x, t = self.saved
        xp = array_module(x)
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return ((sig - t) * (g[..., None] / x.shape[-1])).astype(np.float32, copy=False), None


class BinaryCrossentropy(_SmoothedCrossentropy):
    """Binary cross-entropy, averaged over the last axis per sample (Keras)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)

    def call(self, y_true, y_pred):
        t = _float_target(self, y_true, y_pred)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        fn = _BinaryCrossEntropyLogits if self.from_logits else _BinaryCrossEntropy
        return fn.apply(y_pred, t)


# ---- regression ---------------------------------------------------------------------------------
class _SquaredError(Function):
    def forward(self, p, t):
        d = p - t
        self.save(d)
        return (d * d).mean(axis=-1)

    def backward(self, g):
        (d,) = self.saved
        return d * (g[..., None] * (2.0 / d.shape[-1])), None


class _AbsoluteError(Function):
    def forward(self, p, t):
        d = p - t
        self.save(d)
        return array_module(d).abs(d).mean(axis=-1)

    def backward(self, g):
        (d,) = self.saved
        return array_module(d).sign(d) * (g[..., None] / d.shape[-1]), None


class MeanSquaredError(Loss):
    """mean((y_pred - y_true)^2) over the last axis per sample."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(name=name, reduction=reduction)

    def call(self, y_true, y_pred):
        return _SquaredError.apply(y_pred, _float_target(self, y_true, y_pred))


class MeanAbsoluteError(Loss):
    """mean(|y_pred - y_true|) over the last axis per sample."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(name=name, reduction=reduction)

    def call(self, y_true, y_pred):
        return _AbsoluteError.apply(y_pred, _float_target(self, y_true, y_pred))


class LossFunctionWrapper(Loss):
    """A plain function fn(y_true, y_pred) -> per-sample losses (Tensor), as a Loss."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn, self.fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        out = self.fn(y_true, y_pred, **self.fn_kwargs)
        return out if isinstance(out, Tensor) else Tensor(out)


# functional forms, per sample (Keras's keras.losses.sparse_categorical_crossentropy, ...)
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    if axis != -1:
        raise ValueError(f"sparse_categorical_crossentropy: only axis=-1 is supported, got {axis!r}")
    return SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore_class,
                                         reduction=None)(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                   reduction=None)(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing, reduction=None)(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError(reduction=None)(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError(reduction=None)(y_true, y_pred)

"""The rest of Keras 3's losses (keras/src/losses/losses.py), written once as per-sample functions on
forgenet.ops (so they are differentiable on Tensors and also run on arrays), and as Loss classes
that wrap them with Keras's names, defaults and configs."""
from __future__ import annotations

import numpy as np

from forgenet import ops
from forgenet.autograd.tensor import Tensor, array_module
from forgenet.losses.losses import EPSILON, Loss


def _pred(y_pred):
    if isinstance(y_pred, Tensor):
        return y_pred if y_pred.dtype == np.float32 else ops.cast(y_pred, "float32")
    return Tensor(np.asarray(y_pred, np.float32)) if not type(y_pred).__module__.startswith("cupy") else Tensor(y_pred)


def _true(y_true, y_pred):
    t = y_true.data if isinstance(y_true, Tensor) else y_true
    return array_module(y_pred.data).asarray(t).astype(np.float32)


def _same_rank(t, p):
    """Keras's squeeze_or_expand_to_same_rank on (target array, prediction Tensor)."""
    if t.ndim == p.ndim + 1 and t.shape[-1] == 1:
        return t.reshape(t.shape[:-1]), p
    if p.ndim == t.ndim + 1 and p.shape[-1] == 1:
        return t.reshape(t.shape + (1,)), p
    return t, p


def _prep(y_true, y_pred, same_rank=True):
    p = _pred(y_pred)
    t = _true(y_true, p)
    return _same_rank(t, p) if same_rank else (t, p)


def _out(y, like):
    """Function forms give arrays back for arrays in (as keras.losses.* give backend tensors)."""
    return y if isinstance(like, Tensor) else array_module(y.data).asarray(y.data)  # 0-d stays an array


def _hinge_labels(t):
    xp = array_module(t)
    return 2.0 * t - 1.0 if bool(xp.all((t == 0) | (t == 1))) else t


# ---- per-sample functions (keras.losses.huber, ...) ---------------------------------------------
def huber(y_true, y_pred, delta=1.0):
    t, p = _prep(y_true, y_pred)
    err = p - t
    a = ops.abs(err)
    d = float(delta)
    return _out(ops.mean(ops.where(a.data <= d, ops.square(err) * 0.5, a * d - 0.5 * d * d), axis=-1), y_pred)


def log_cosh(y_true, y_pred):
    t, p = _prep(y_true, y_pred)
    x = p - t
    return _out(ops.mean(x + ops.softplus(x * -2.0) - float(np.log(2.0)), axis=-1), y_pred)


def kl_divergence(y_true, y_pred):
    t, p = _prep(y_true, y_pred, same_rank=False)
    t = array_module(t).clip(t, EPSILON, 1.0)
    p = ops.clip(p, EPSILON, 1.0)
    return _out(ops.sum(ops.multiply(t, ops.log(ops.divide(t, p))), axis=-1), y_pred)


def poisson(y_true, y_pred):
    t, p = _prep(y_true, y_pred, same_rank=False)
    return _out(ops.mean(p - ops.multiply(t, ops.log(p + EPSILON)), axis=-1), y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    t, p = _prep(y_true, y_pred)
    return _out(-ops.sum(ops.normalize(Tensor(t), axis=axis) * ops.normalize(p, axis=axis), axis=axis), y_pred)


def hinge(y_true, y_pred):
    t, p = _prep(y_true, y_pred, same_rank=False)
    return _out(ops.mean(ops.maximum(1.0 - ops.multiply(_hinge_labels(t), p), 0.0), axis=-1), y_pred)


def squared_hinge(y_true, y_pred):
    t, p = _prep(y_true, y_pred, same_rank=False)
    return _out(ops.mean(ops.square(ops.maximum(1.0 - ops.multiply(_hinge_labels(t), p), 0.0)), axis=-1), y_pred)


def categorical_hinge(y_true, y_pred):
    t, p = _prep(y_true, y_pred, same_rank=False)
    pos = ops.sum(ops.multiply(t, p), axis=-1)
    neg = ops.max(ops.multiply(1.0 - t, p), axis=-1)
    return _out(ops.maximum(neg - pos + 1.0, 0.0), y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    t, p = _prep(y_true, y_pred)
    den = array_module(t).maximum(array_module(t).abs(t), EPSILON)
    return _out(ops.mean(ops.abs(ops.divide(Tensor(t) - p, den)), axis=-1) * 100.0, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    t, p = _prep(y_true, y_pred)
    xp = array_module(t)
    second = xp.log(xp.maximum(t, EPSILON) + 1.0)
    return _out(ops.mean(ops.square(ops.log(ops.maximum(p, EPSILON) + 1.0) - second), axis=-1), y_pred)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    t, p = _prep(y_true, y_pred, same_rank=False)
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        p = ops.softmax(p, axis=axis)
    out = ops.clip(p / ops.sum(p, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    cce = ops.multiply(-t, ops.log(out))
    focal = ops.power(1.0 - out, float(gamma)) * float(alpha) * cce
    return _out(ops.sum(focal, axis=axis), y_pred)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    t, p = _prep(y_true, y_pred, same_rank=False)
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p = ops.sigmoid(p)
    bce = ops.binary_crossentropy(t, p, from_logits=False)
    p_t = ops.multiply(t, p) + ops.multiply(1.0 - t, 1.0 - p)
    focal = ops.power(1.0 - p_t, float(gamma)) * bce
    if apply_class_balancing:
        focal = ops.multiply(t * alpha + (1.0 - t) * (1.0 - alpha), focal)
    return _out(ops.mean(focal, axis=axis), y_pred)


def mean_absolute_error_fn(y_true, y_pred):
    t, p = _prep(y_true, y_pred)
    return _out(ops.mean(ops.abs(p - t), axis=-1), y_pred)


def dice(y_true, y_pred, axis=None):
    """1 - 2 sum(t p) / (sum(t) + sum(p) + eps), summed over `axis` (None: everything)."""
    t, p = _prep(y_true, y_pred, same_rank=False)
    axis = tuple(axis) if isinstance(axis, list) else axis
    inter = ops.sum(ops.multiply(t, p), axis=axis)
    den = ops.sum(Tensor(t), axis=axis) + ops.sum(p, axis=axis) + EPSILON
    return _out(1.0 - ops.divide(inter * 2.0, den), y_pred)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha sum(t (1 - p)) + beta sum(p (1 - t)) + eps): Keras 3's weighting, in which alpha
    weights the missed targets and beta the false alarms."""
    t, p = _prep(y_true, y_pred, same_rank=False)
    axis = tuple(axis) if isinstance(axis, list) else axis
    inter = ops.sum(ops.multiply(t, p), axis=axis)
    missed = ops.sum(ops.multiply(t, 1.0 - p), axis=axis)
    false_alarm = ops.sum(ops.multiply(1.0 - t, p), axis=axis)
    den = inter + missed * float(alpha) + false_alarm * float(beta) + EPSILON
    return _out(1.0 - ops.divide(inter, den), y_pred)


# ---- classes -------------------------------------------------------------------------------------
class _FunctionLoss(Loss):
    """A Loss computing `fn(y_true, y_pred, **options)` per sample; config = name, reduction, options."""

    fn = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **options):
        super().__init__(name=name, reduction=reduction)
        self.options = options

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self.options)

    def get_config(self):
        return {**super().get_config(), **self.options}


class Huber(_FunctionLoss):
    fn = staticmethod(huber)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(reduction, name, delta=float(delta))


class LogCosh(_FunctionLoss):
    fn = staticmethod(log_cosh)

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(reduction, name)


class KLDivergence(_FunctionLoss):
    fn = staticmethod(kl_divergence)

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(reduction, name)


class Poisson(_FunctionLoss):
    fn = staticmethod(poisson)

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(reduction, name)


class CosineSimilarity(_FunctionLoss):
    fn = staticmethod(cosine_similarity)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction, name, axis=axis)


class Hinge(_FunctionLoss):
    fn = staticmethod(hinge)

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction, name)


class SquaredHinge(_FunctionLoss):
    fn = staticmethod(squared_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction, name)


class CategoricalHinge(_FunctionLoss):
    fn = staticmethod(categorical_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(reduction, name)


class MeanAbsolutePercentageError(_FunctionLoss):
    fn = staticmethod(mean_absolute_percentage_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(reduction, name)


class MeanSquaredLogarithmicError(_FunctionLoss):
    fn = staticmethod(mean_squared_logarithmic_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(reduction, name)


class CategoricalFocalCrossentropy(_FunctionLoss):
    fn = staticmethod(categorical_focal_crossentropy)

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None):
        super().__init__(reduction, name, alpha=float(alpha), gamma=float(gamma), from_logits=bool(from_logits),
                         label_smoothing=float(label_smoothing), axis=axis)


class BinaryFocalCrossentropy(_FunctionLoss):
    fn = staticmethod(binary_focal_crossentropy)

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction="sum_over_batch_size", name="binary_focal_crossentropy", dtype=None):
        super().__init__(reduction, name, apply_class_balancing=bool(apply_class_balancing), alpha=float(alpha),
                         gamma=float(gamma), from_logits=bool(from_logits), label_smoothing=float(label_smoothing),
                         axis=axis)


class _SameRankLoss(_FunctionLoss):
    """Keras's LossFunctionWrapper squeezes or expands y_true to y_pred's rank before the function."""

    def call(self, y_true, y_pred):
        t, p = _prep(y_true, y_pred)
        return type(self).fn(t, p, **self.options)


def _axis(who, axis):
    if axis is None or isinstance(axis, int):
        return axis
    if isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
        return axis  # kept as given: the config writes it back as Keras does
    raise ValueError(f"{who}: axis must be None, an int or a list of ints, got {axis!r}")


class Dice(_SameRankLoss):
    fn = staticmethod(dice)

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(reduction, name, axis=_axis("Dice", axis))


class Tversky(_SameRankLoss):
    fn = staticmethod(tversky)

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None, dtype=None):
        super().__init__(reduction, name, alpha=float(alpha), beta=float(beta), axis=_axis("Tversky", axis))


CLASSES = (Huber, LogCosh, KLDivergence, Poisson, CosineSimilarity, Hinge, SquaredHinge, CategoricalHinge,
           MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CategoricalFocalCrossentropy,
           BinaryFocalCrossentropy, Dice, Tversky)

# Keras's string names for compile(loss=...): keras.losses.get resolves them to these
ALIASES = {
    "huber": Huber, "huber_loss": Huber, "log_cosh": LogCosh, "logcosh": LogCosh,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson, "cosine_similarity": CosineSimilarity, "hinge": Hinge, "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge, "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError, "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError, "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "binary_focal_crossentropy": BinaryFocalCrossentropy, "dice": Dice, "tversky": Tversky,
}
